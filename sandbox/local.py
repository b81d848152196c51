"""Start a sandbox service as a child process on a free loopback port (what `rlvr serve` does by default)."""

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

import httpx


class SandboxStartError(RuntimeError):
    """The local sandbox exited or never became healthy; the message has its output."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies, so a killed `rlvr serve` leaves no sandbox."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_sandbox(*, workers: int | None = None, insecure: bool = False, wait_s: float = 60) -> Iterator[str]:
    """Yield the URL of a fresh `rlvr sandbox` on 127.0.0.1; it is stopped (with its jails) on exit."""
    port = _free_port()
    cmd = [sys.executable, "-m", "rewards.cli", "sandbox", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    if insecure:
        cmd.append("--insecure-no-isolation")
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise SandboxStartError(f"the sandbox exited with {proc.returncode}: {err[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SandboxStartError(f"the sandbox did not become healthy in {wait_s}s")
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
