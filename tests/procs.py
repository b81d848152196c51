"""Start real servers (rlvr subcommands) on loopback for integration tests, and stop them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sandbox.local import child_service, free_port

REPO = Path(__file__).resolve().parents[1]

__all__ = ["REPO", "free_port", "launch"]


@contextlib.contextmanager
def launch(
    args: list[str], port: int, *, health: str = "/healthz", env: dict[str, str] | None = None, wait_s: float = 90
) -> Iterator[str]:
    """Run `rlvr <args> --host 127.0.0.1 --port <port>` from the repo and yield its URL once healthy."""
    with child_service(args, port, health=health, env=env, cwd=REPO, wait_s=wait_s) as url:
        yield url
