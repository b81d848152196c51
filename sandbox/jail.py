"""The command line that starts one warm worker inside a bubblewrap jail (or, insecurely, without one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

WORKER_SOURCE = (Path(__file__).parent / "worker.py").read_text()
JAIL_WORKDIR = "/tmp"
JAIL_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_UID = 65534


class IsolationUnavailable(RuntimeError):
    """bwrap or user namespaces are missing: refuse to run untrusted code without --insecure-no-isolation."""


def jail_python() -> str:
    """The interpreter the workers run: this one's real binary (a venv's python is a symlink to it)."""
    return os.path.realpath(sys.executable)


def _root_binds() -> list[str]:
    """Read-only binds of what language runtimes need: /usr, the interpreter's prefix, a few /etc files."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/"):
        args += ["--ro-bind", prefix, prefix]
    for path in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


@dataclass
class Jail:
    """Builds worker commands. `isolated=False` is the explicit insecure mode."""

    isolated: bool = True
    disk_mb: int = 64
    bwrap: str = field(default_factory=lambda: shutil.which("bwrap") or "")

    def worker_command(self) -> tuple[list[str], dict[str, str], str | None]:
        """argv, environment and (insecure mode only) a private work dir to remove afterwards."""
        python = [jail_python(), "-I", "-X", "utf8", "-c", WORKER_SOURCE]
        if not self.isolated:
            workdir = tempfile.mkdtemp(prefix="rlvr-sandbox-")
            config = {"workdir": workdir, "pidns": False, "disk_mb": self.disk_mb}
            env = {"PATH": JAIL_PATH, "HOME": workdir, "SANDBOX_WORKER_CONFIG": json.dumps(config)}
            return python, env, workdir
        config = json.dumps({"workdir": JAIL_WORKDIR, "pidns": True, "disk_mb": self.disk_mb})
        argv = [
            self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session", "--as-pid-1", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--hostname", "sandbox", *_root_binds(), "--proc", "/proc", "--dev", "/dev",
            "--size", str(self.disk_mb * 1024 * 1024), "--tmpfs", JAIL_WORKDIR,
            "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", JAIL_WORKDIR, "--clearenv",
            "--setenv", "PATH", JAIL_PATH, "--setenv", "HOME", JAIL_WORKDIR, "--setenv", "LANG", "C.UTF-8",
            "--setenv", "SANDBOX_WORKER_CONFIG", config, "--", *python,
        ]
        return argv, {}, None

    def probe(self) -> None:
        """Start one jailed interpreter; raise IsolationUnavailable with the reason if that fails."""
        if not self.isolated:
            return
        if not self.bwrap:
            raise IsolationUnavailable("bwrap (bubblewrap) is not installed; `make install` installs it")
        argv, _, _ = self.worker_command()
        argv = argv[: argv.index("--") + 1] + [jail_python(), "-I", "-c", "import os; assert os.getpid() == 1"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, env={})
        if proc.returncode != 0:
            raise IsolationUnavailable(f"bwrap cannot create the jail (user namespaces?): {proc.stderr.strip()}")
