"""Start real servers (rlvr subcommands) on loopback for integration tests, and stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from sandbox.local import child_service, free_port

REPO = Path(__file__).resolve().parents[1]

__all__ = ["REPO", "free_port", "kill_group", "launch", "serve_in_thread", "start_detached"]


@contextlib.contextmanager
def launch(
    args: list[str], port: int, *, health: str = "/healthz", env: dict[str, str] | None = None, wait_s: float = 90
) -> Iterator[str]:
    """Run `rlvr <args> --host 127.0.0.1 --port <port>` from the repo and yield its URL once healthy."""
    with child_service(args, port, health=health, env=env, cwd=REPO, wait_s=wait_s) as url:
        yield url


def start_detached(args: list[str], port: int, log: Path, wait_s: float = 90) -> subprocess.Popen:
    """`rlvr <args> --host 127.0.0.1 --port <port>` in its own process group, returned once healthy; for tests
    that kill and restart a service themselves (stop it with `kill_group`)."""
    proc = subprocess.Popen([sys.executable, "-m", "rlvr", *args, "--host", "127.0.0.1", "--port", str(port)],
                            cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        time.sleep(0.1)
    kill_group(proc)
    raise RuntimeError(f"rlvr {args[0]} did not start: {log.read_text()[-3000:]}")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a `start_detached` service with everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve a stand-in ASGI app (a stub of another project's server) in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
