"""The worker's own loop: it prepares the interpreter once, then serves requests, forking one child per run and
accounting for it (output caps, wall and CPU time, memory, the completion marker), and keeps the work dir.

It runs as PID 1 of its own PID namespace, which makes it immune to signals from the code it runs; after every
run it kills every other process in the namespace, so nothing outlives a run.
"""

from __future__ import annotations

import builtins
import gc
import importlib
import json
import os
import re
import selectors
import signal
import site
import struct
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sandbox.worker.child import Setting, child, make_stdio
from sandbox.worker.guard import harden_modules, take_snapshot

# Imported once here so that the forked children get them for free. Each preload also makes every fork and
# exit dearer (more pages and mappings), so only what solutions commonly import: not dataclasses (1 MB with
# inspect) or hashlib (OpenSSL).
PRELOAD = ("bisect", "collections", "copy", "decimal", "fractions", "functools", "heapq", "io", "itertools",
           "math", "operator", "random", "statistics", "string", "typing")
MEMORY_RE = re.compile(r"MemoryError|std::bad_alloc|heap out of memory|Cannot allocate memory")
REAP_GRACE_S = 2.0  # how long the dying processes of a run may take to go (one stuck in the kernel: give up)


class Config(NamedTuple):
    """What the service tells the worker (SANDBOX_WORKER_CONFIG, see sandbox.jail)."""

    workdir: str
    pidns: bool  # PID 1 of its own namespace: only then may kill(-1) be used
    cgroup_fd: int | None
    disk_mb: int


def load_config(environ: Mapping[str, str], pid: int) -> Config:
    """The worker's Config from its environment; `pid` is its own (pidns holds only for PID 1)."""
    config = json.loads(environ.get("SANDBOX_WORKER_CONFIG", "{}"))
    return Config(config.get("workdir", "/tmp"), bool(config.get("pidns", False)) and pid == 1,
                  config.get("cgroup_fd"), config.get("disk_mb", 64))


def prepare_interpreter() -> None:
    """Started with -S: the site-packages' .pth files (which import whatever they like, 4 MB here) do not run in
    the worker; programs still get exit(), quit(), help() and site-packages on their path, as under `python`.
    Then the preloads."""
    site.setquit()
    site.setcopyright()
    site.sethelper()
    sys.path.extend(path for path in site.getsitepackages() if os.path.isdir(path) and path not in sys.path)
    for module in PRELOAD:
        importlib.import_module(module)


def _read_exact(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def recv(fd: int) -> dict[str, Any]:
    """One request: 4-byte big-endian length + JSON."""
    (size,) = struct.unpack(">I", _read_exact(fd, 4))
    message: dict[str, Any] = json.loads(_read_exact(fd, size))
    return message


def send(fd: int, obj: dict[str, Any]) -> None:
    """One reply, framed like a request."""
    data = json.dumps(obj).encode()
    os.write(fd, struct.pack(">I", len(data)) + data)


def kill_rest(pid: int, pidns: bool) -> None:
    """Kill whatever the run left behind: every process of the namespace, or the run's session outside one."""
    try:
        if pidns:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def collect(pid: int, pipes: tuple[int, ...], cap: int, deadline: float,
            pidns: bool) -> tuple[dict[int, bytearray], bool, bool]:
    """Read stdout, stderr and status concurrently with a byte cap until the child exits or time runs out:
    the bytes read from each pipe, whether time ran out, whether a pipe passed the cap. Whatever runs of the
    run is killed at the end."""
    buffers = {fd: bytearray() for fd in pipes}
    sel = selectors.DefaultSelector()
    for fd in pipes:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    pidfd = os.pidfd_open(pid)
    sel.register(pidfd, selectors.EVENT_READ)
    timeout = over = exited = False
    open_fds = set(pipes)
    while open_fds or not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timeout = True
            break
        for key, _ in sel.select(remaining):
            fd = key.fd
            if fd == pidfd:
                sel.unregister(pidfd)
                exited = True
                kill_rest(pid, pidns)  # the program is done: background children die now, and the pipes close
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(fd)
                open_fds.discard(fd)
                continue
            buffers[fd] += chunk
            over = over or len(buffers[fd]) > cap
        if over:
            break
    kill_rest(pid, pidns)
    sel.close()
    os.close(pidfd)
    return buffers, timeout, over


def memfd(name: str, text: str) -> int:
    """A file only in memory holding `text`, read from its start."""
    fd = os.memfd_create(name)
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def completion(status: str, nonce: str) -> tuple[bool, str | None]:
    """(completed, value) from the status pipe: exactly `nonce`, the value's length and the value, nothing else."""
    marker, _, rest = status.partition("\n")
    size, _, value = rest.partition("\n")
    if marker != nonce or not size.isdigit() or len(value) != int(size):
        return False, None
    return True, value


def reap(pidns: bool, grace_s: float = REAP_GRACE_S) -> None:
    """As PID 1, collect the orphans the run left (already SIGKILLed), waiting for the dying ones so none
    is still around when the next run starts; give up after `grace_s` (a process stuck in the kernel)."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not pidns or time.monotonic() > deadline:
                return
            time.sleep(0.001)


def remove(path: str) -> None:
    """Delete `path` and all below it, giving directories back the permissions a program took away. (Not
    shutil.rmtree: importing shutil maps zlib, bz2 and lzma into the worker, and every fork copies them.)"""
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        for name in os.listdir(path):
            remove(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


class WorkerState(NamedTuple):
    """The worker between runs. (No harness class has methods: a program finds every class through
    object.__subclasses__(), and a method's __globals__ would be the harness's own.)"""

    setting: Setting
    pidns: bool
    workdir_mode: int  # the work dir's mode as the jail made it, put back by every reset
    stashed: dict[str, tuple[bytes, int]]  # files a job keeps across its tests (a compiled program)


def run(state: WorkerState, req: dict[str, Any]) -> dict[str, Any]:
    """One run: its files written, the child forked, its output read and its end accounted for. A failure of the
    child's set-up raises (the service retires this worker; the run is a sandbox_error)."""
    workdir, limits = state.setting.workdir, req["limits"]
    for name, text in (req.get("files") or {}).items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    nonce = req.get("nonce") or os.urandom(16).hex()
    stdin_fd, secret_fd = memfd("stdin", req.get("stdin", "")), None
    if req.get("secret") is not None:
        secret_fd = memfd("secret", req["secret"])
    (out_r, out_w), (err_r, err_w), (st_r, st_w), (setup_r, setup_w) = os.pipe(), os.pipe(), os.pipe(), os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(req, nonce, (stdin_fd, out_w, err_w, st_w, setup_w, secret_fd), state.setting)
    for fd in (stdin_fd, out_w, err_w, st_w, setup_w, secret_fd):
        if fd is not None:
            os.close(fd)
    cap = limits["output_kb"] * 1024
    buffers, timeout, over = collect(pid, (out_r, err_r, st_r), cap, start + limits["wall_s"], state.pidns)
    _, status, usage = os.wait4(pid, 0)
    wall_ms = (time.monotonic() - start) * 1000
    for fd in (out_r, err_r, st_r):
        os.close(fd)
    reap(state.pidns)
    setup_error = os.read(setup_r, 4096).decode(errors="replace")
    os.close(setup_r)
    if setup_error:
        raise RuntimeError(setup_error)
    try:
        dirty = bool(os.listdir(workdir)) or os.stat(workdir).st_mode != state.workdir_mode
    except OSError:  # the program took away the dir's permissions
        dirty = True
    completed, value = completion(bytes(buffers[st_r]).decode(errors="replace"), nonce)
    cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    stderr = bytes(buffers[err_r][:cap]).decode(errors="replace")
    return {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": signum,
        "stdout": bytes(buffers[out_r][:cap]).decode(errors="replace"),
        "stderr": stderr,
        "truncated": over,
        "timeout": timeout or signum == signal.SIGXCPU or (signum == signal.SIGKILL and cpu_ms >= limits["cpu_s"] * 1000),
        "memory": status != 0 and bool(MEMORY_RE.search(stderr[-2000:])),
        "completed": completed,
        "value": value,
        "wall_ms": round(wall_ms, 2),
        "cpu_ms": round(cpu_ms, 2),
        "max_rss_kb": usage.ru_maxrss,
        "dirty": dirty,
    }


def stash(state: WorkerState, req: dict[str, Any]) -> dict[str, Any]:
    """Keep the named files of the work dir in memory, as they are now (before any program ran)."""
    state.stashed.clear()
    for name in req["names"]:
        path = os.path.join(state.setting.workdir, name)
        with open(path, "rb") as f:
            state.stashed[name] = (f.read(), os.stat(path).st_mode & 0o777)
    return {}


def reset(state: WorkerState, req: dict[str, Any]) -> dict[str, Any]:
    """Empty the work dir and give it back its mode; with "restore", put the stashed files back, else forget them.

    Not clean (a dir the program made unremovable, or too deep): the caller treats the work dir as lost."""
    workdir = state.setting.workdir
    os.chmod(workdir, state.workdir_mode)
    for name in os.listdir(workdir):
        try:
            remove(os.path.join(workdir, name))
        except (OSError, RecursionError):
            pass
    if not req.get("restore"):
        state.stashed.clear()
    if os.listdir(workdir):
        return {"clean": False}
    for name, (data, mode) in state.stashed.items():
        fd = os.open(os.path.join(workdir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(fd, "wb") as f:
            f.write(data)
    return {"clean": True}


OPS: dict[str, Callable[[WorkerState, dict[str, Any]], dict[str, Any]]] = {"run": run, "stash": stash, "reset": reset}


def serve(state: WorkerState, ctrl_in: int, ctrl_out: int) -> None:
    """Answer requests until the service closes the pipe; a request that fails is reported, and the service
    retires the worker."""
    while True:
        try:
            req = recv(ctrl_in)
        except EOFError:
            return
        try:
            reply = OPS[req["op"]](state, req)
        except Exception as exc:  # noqa: BLE001 - report, the service retires the worker
            reply = {"worker_error": f"{type(exc).__name__}: {exc}"}
        send(ctrl_out, reply)


def main() -> None:
    """The worker's life: prepare the interpreter, guard and snapshot its modules, then serve on fds 0 and 1
    (moved out of the way first, so that nothing a run inherits reaches the service)."""
    prepare_interpreter()
    config = load_config(os.environ, os.getpid())
    pristine = dict(builtins.__dict__)
    harden_modules()  # after the last import of the worker, before the snapshot (which keeps the patches)
    snapshot = take_snapshot(sys.modules, (sys.meta_path, sys.path_hooks, sys.path), sys.path_importer_cache)
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.makedirs(config.workdir, exist_ok=True)
    stdio = make_stdio()
    # sys as a test gets it back (see guard.restore): the children's argv and stdio, and no bytecode writes
    sys_state = snapshot[0]["sys"][3]
    sys_state.update(argv=["main.py"], stdin=stdio[0], stdout=stdio[1], stderr=stdio[2], __stdin__=stdio[0],
                     __stdout__=stdio[1], __stderr__=stdio[2], dont_write_bytecode=True)
    setting = Setting(config.workdir, config.cgroup_fd, config.disk_mb, stdio, pristine, snapshot)
    state = WorkerState(setting, config.pidns, os.stat(config.workdir).st_mode, {})
    compile("pass", "warm-up", "exec")  # the compiler's AST types are made on first use: once here, not per run
    gc.freeze()  # children never touch the worker's objects for collection: fewer copied pages per fork
    send(ctrl_out, {"ready": True, "pid1": config.pidns})
    serve(state, ctrl_in, ctrl_out)
