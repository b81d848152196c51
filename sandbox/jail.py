"""The command line that starts one warm worker inside a bubblewrap jail (or, insecurely, without one)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from sandbox.errors import IsolationUnavailable
from sandbox.worker import program

WORKER_SOURCE = program()
JAIL_WORKDIR = "/tmp"
JAIL_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_UID = 65534

# Syscalls no jailed process may make: they reach into another process (ptrace, process_vm_*, pidfd_getfd,
# kcmp) or around the other rules (perf events, io_uring, and System V IPC objects, which outlive the run in
# the worker's IPC namespace and hold memory no rlimit counts). The worker then needs no PR_SET_DUMPABLE, whose
# only route from Python is ctypes, which would leave raw memory access behind in every forked run.
DENIED_SYSCALLS = {
    "x86_64": (0xC000003E, {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
                            "perf_event_open": 298, "pidfd_getfd": 438, "io_uring_setup": 425,
                            "io_uring_enter": 426, "io_uring_register": 427, "shmget": 29, "semget": 64,
                            "msgget": 68}),
    "aarch64": (0xC00000B7, {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
                             "perf_event_open": 241, "pidfd_getfd": 438, "io_uring_setup": 425,
                             "io_uring_enter": 426, "io_uring_register": 427, "shmget": 194, "semget": 190,
                             "msgget": 186}),
}


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


def seccomp_program(machine: str | None = None) -> bytes:
    """A classic-BPF seccomp filter (what `bwrap --seccomp` takes): EPERM for DENIED_SYSCALLS, allow the rest."""
    machine = machine or platform.machine()
    if machine not in DENIED_SYSCALLS:
        raise IsolationUnavailable(f"no seccomp filter for the {machine} architecture")
    arch, numbers = DENIED_SYSCALLS[machine]
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    kill, allow, eperm = 0x80000000, 0x7FFF0000, 0x00050001
    denied = sorted(numbers.values())
    insns = [(load, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (load, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI numbers the same calls differently: refuse it outright
        insns.append((jge, len(denied) + 1, 0, 0x40000000))
    insns += [(jeq, len(denied) - i, 0, nr) for i, nr in enumerate(denied)]
    insns += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
    return b"".join(struct.pack("=HBBI", *insn) for insn in insns)


@dataclass
class Jail:
    """Builds worker commands. `isolated=False` is the explicit insecure mode."""

    isolated: bool = True
    disk_mb: int = 64
    bwrap: str = field(default_factory=lambda: shutil.which("bwrap") or "")

    def worker_command(self, cgroup_fd: int | None = None) -> tuple[list[str], dict[str, str], str | None, int | None]:
        """argv, environment, (insecure mode only) a private work dir to remove afterwards, and an fd to pass.

        The fd holds the seccomp program; the caller passes it to the child and closes it once started.
        `cgroup_fd` (passed by the caller too) is where each run moves itself (see sandbox.cgroups).
        No /proc in the jail: a program could read its own memory through /proc/self/mem.
        """
        python = [jail_python(), "-I", "-S", "-X", "utf8", "-c", WORKER_SOURCE]  # -S: see prepare_interpreter
        if not self.isolated:
            workdir = tempfile.mkdtemp(prefix="rlvr-sandbox-")
            config = json.dumps({"workdir": workdir, "pidns": False, "disk_mb": self.disk_mb, "cgroup_fd": cgroup_fd})
            env = {"PATH": JAIL_PATH, "HOME": workdir, "SANDBOX_WORKER_CONFIG": config}
            return python, env, workdir, None
        config = json.dumps({"workdir": JAIL_WORKDIR, "pidns": True, "disk_mb": self.disk_mb,
                             "cgroup_fd": cgroup_fd})
        seccomp = os.memfd_create("seccomp")
        os.write(seccomp, seccomp_program())
        os.lseek(seccomp, 0, os.SEEK_SET)
        argv: list[str] = [
            self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session", "--as-pid-1", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--hostname", "sandbox", *_root_binds(), "--dev", "/dev", "--seccomp", str(seccomp),
            "--size", str(self.disk_mb * 1024 * 1024), "--tmpfs", JAIL_WORKDIR,
            "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", JAIL_WORKDIR, "--clearenv",
            "--setenv", "PATH", JAIL_PATH, "--setenv", "HOME", JAIL_WORKDIR, "--setenv", "LANG", "C.UTF-8",
            "--setenv", "SANDBOX_WORKER_CONFIG", config, "--", *python,
        ]
        return argv, {}, None, seccomp

    def probe(self) -> None:
        """Start one jailed interpreter; raise IsolationUnavailable with the reason if that fails."""
        if not self.isolated:
            return
        if not self.bwrap:
            raise IsolationUnavailable("bwrap (bubblewrap) is not installed; `make install` installs it")
        argv, _, _, seccomp = self.worker_command()
        argv = argv[: argv.index("--") + 1] + [jail_python(), "-I", "-c", "import os; assert os.getpid() == 1"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, env={},
                                  pass_fds=() if seccomp is None else (seccomp,))
        finally:
            if seccomp is not None:
                os.close(seccomp)
        if proc.returncode != 0:
            raise IsolationUnavailable(f"bwrap cannot create the jail (user namespaces?): {proc.stderr.strip()}")
