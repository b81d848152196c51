"""Start a service (`python -m rlvr ...`, or a package's own `python -m sandbox`) as a child process on
loopback, and stop it with its caller.

`rlvr serve` starts its private sandbox this way; integration tests start every server they use
with the same code.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from sandbox.errors import ServiceStartError as ServiceStartError  # the launcher's callers catch it here


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies, so a killed parent leaves no service behind."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def child_service(
    args: list[str], port: int, *, module: str = "rlvr", health: str = "/healthz",
    env: dict[str, str] | None = None, cwd: str | Path | None = None, wait_s: float = 60,
) -> Iterator[str]:
    """Run `python -m <module> <args> --host 127.0.0.1 --port <port>`, yield its URL once `health` answers 200,
    stop it on exit."""
    cmd = [sys.executable, "-m", module, *args, "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{port}"
    name = f"python -m {module} {' '.join(args)}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                out = log.read().decode(errors="replace")
                raise ServiceStartError(f"{name} exited with {proc.returncode}:\n{out[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + health, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise ServiceStartError(f"{name} did not become healthy in {wait_s}s")
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextlib.contextmanager
def local_sandbox(*, workers: int | None = None, insecure: bool = False, wait_s: float = 60) -> Iterator[str]:
    """Yield the URL of a fresh `rlvr sandbox` on 127.0.0.1; it is stopped (with its jails) on exit."""
    args = (["--workers", str(workers)] if workers else []) + (["--insecure-no-isolation"] if insecure else [])
    with child_service(args, free_port(), module="sandbox", wait_s=wait_s) as url:
        yield url
