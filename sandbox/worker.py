"""The warm worker that lives inside the jail: it forks one child per run, so a run pays no interpreter start-up.

Standalone (stdlib only): the service passes this file's text to `python -c`, so none of the service's files
are inside the jail. It runs as PID 1 of its own PID namespace, which makes it immune to signals from the code
it runs; after every run it kills every other process in the namespace, so nothing outlives a run.

Protocol on fds 0 (requests) and 1 (replies), both moved out of the way at start: 4-byte big-endian length +
JSON. Requests: {"op": "run", ...} -> result; {"op": "reset"} -> {"clean": bool} (empties the work dir).
"""

import atexit
import builtins
import ctypes
import gc
import importlib
import json
import os
import re
import resource
import selectors
import shutil
import signal
import struct
import sys
import threading
import time
import traceback
import types

# Imported once here so that the forked children get them for free.
PRELOAD = ("bisect", "collections", "copy", "dataclasses", "decimal", "fractions", "functools", "hashlib",
           "heapq", "io", "itertools", "math", "operator", "random", "statistics", "string", "typing")
for _module in PRELOAD:
    importlib.import_module(_module)

PRISTINE_BUILTINS = dict(builtins.__dict__)
STATUS_FD = 3
EXEC_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
CONFIG = json.loads(os.environ.get("SANDBOX_WORKER_CONFIG", "{}"))
WORKDIR = CONFIG.get("workdir", "/tmp")
PIDNS = CONFIG.get("pidns", False) and os.getpid() == 1  # only then may kill(-1) be used
MEMORY_RE = re.compile(r"MemoryError|std::bad_alloc|heap out of memory|Cannot allocate memory")


def _read_exact(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _recv(fd):
    (size,) = struct.unpack(">I", _read_exact(fd, 4))
    return json.loads(_read_exact(fd, size))


def _send(fd, obj):
    data = json.dumps(obj).encode()
    os.write(fd, struct.pack(">I", len(data)) + data)


def _set_limits(limits):
    """rlimits of one run; effective because the uid holds no capabilities."""
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    memory = limits["memory_mb"] * 1024 * 1024
    disk = CONFIG.get("disk_mb", 64) * 1024 * 1024
    for res, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_DATA, (memory, memory)),
        (resource.RLIMIT_FSIZE, (disk, disk)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_NPROC, (limits["pids"] + 1, limits["pids"] + 1)),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(res, value)


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _print_exception(exc):
    """The traceback without the harness's own frame, as the interpreter would print it."""
    traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)


def _finish(code, _exit=os._exit):
    """What the interpreter does at exit: join threads, run atexit, flush; then leave without unwinding."""
    for step in (threading._shutdown, atexit._run_exitfuncs, sys.stdout.flush, sys.stderr.flush):
        try:
            step()
        except BaseException:  # noqa: BLE001, S110 - the program's own exit handlers may fail; exit anyway
            pass
    _exit(code)


def _encode(value, depth=0, _type=type, _repr=repr, _float_repr=float.__repr__, _int_repr=int.__repr__,
            _str_encode=json.encoder.encode_basestring_ascii, _join=", ".join, _items=dict.items):
    """JSON of a value made only of exact builtin types, using functions captured before the program ran.

    A returned object cannot steer its own comparison: subclasses (an `__eq__` that says yes, a custom
    `__repr__`) are rejected, and every function used here was bound before the program could patch anything.
    """
    if depth > 64:
        raise ValueError("value nested too deeply")
    kind = _type(value)
    if value is None or kind is bool:
        return {None: "null", True: "true", False: "false"}[value]
    if kind is int:
        return _int_repr(value)
    if kind is float:
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(_float_repr(value), _float_repr(value))
    if kind is str:
        return _str_encode(value)
    if kind is list or kind is tuple:
        return "[" + _join([_encode(v, depth + 1) for v in value]) + "]"
    if kind is dict:
        parts = []
        for key, item in _items(value):
            if _type(key) is not str:
                raise TypeError(f"dict key of type {_type(key).__name__} is not a string")
            parts.append(_str_encode(key) + ": " + _encode(item, depth + 1))
        return "{" + _join(parts) + "}"
    raise TypeError(f"returned a {kind.__name__}; only None, bool, int, float, str, list, tuple and dict compare")


def _python_child(req, nonce, _getattr=getattr, _isinstance=isinstance, _type=type):
    """Run the program in this forked child the way `python main.py` would, then the test part, if any."""
    mode = req.get("mode", "main")
    sys.argv = ["main.py"]
    sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    write_status, settrace, setprofile = os.write, sys.settrace, sys.setprofile
    compile_, exec_ = compile, exec
    source, test, fn_name, args = req["source"], req.get("test"), req.get("fn_name"), req.get("args", [])
    del req
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = "main.py", builtins
    sys.modules["__main__"] = main
    program = main.__dict__
    try:
        exec_(compile_(source, "main.py", "exec", dont_inherit=True, optimize=0), program)
    except SystemExit as exc:
        code = _exit_code(exc)
        if mode != "main":
            print(f"[sandbox] the program exited (code {code}) before the test ran", file=sys.stderr)
        _finish(code)
    except BaseException as exc:  # noqa: BLE001 - report like the interpreter does
        _print_exception(exc)
        _finish(1)
    if mode == "main":
        _finish(0)
    settrace(None)
    setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    try:
        if mode == "call":
            target = program
            for part in fn_name.split("."):
                target = target[part] if target is program else _getattr(target, part)
                if _isinstance(target, _type):
                    target = target()
            payload = _encode(target(*args))
        else:
            # The test sees the program's names but pristine builtins: shadowing `abs` or patching
            # `builtins.len` does not reach the test's own checks.
            scope = {k: v for k, v in program.items() if k not in PRISTINE_BUILTINS}
            scope.update(__builtins__=dict(PRISTINE_BUILTINS), __name__="__main__")
            exec_(compile_(test, "test.py", "exec", dont_inherit=True, optimize=0), scope)
            payload = ""
    except SystemExit as exc:
        code = _exit_code(exc)
        print(f"[sandbox] the program exited (code {code}) before the test finished", file=sys.stderr)
        _finish(code)
    except BaseException as exc:  # noqa: BLE001
        _print_exception(exc)
        _finish(1)
    write_status(STATUS_FD, (nonce + "\n" + payload).encode())
    _finish(0)


def _child(req, nonce, stdin_fd, out_w, err_w, status_w, _exit=os._exit):
    """Between fork and the program: new session, fds, limits, then the program."""
    try:
        os.setsid()
        for src, dst in ((stdin_fd, 0), (out_w, 1), (err_w, 2), (status_w, STATUS_FD)):
            os.dup2(src, dst)
        os.closerange(STATUS_FD + 1, 65536)
        os.chdir(WORKDIR)
        _set_limits(req["limits"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if req.get("argv"):
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            os.execve(req["argv"][0], req["argv"], EXEC_ENV)
        _python_child(req, nonce)
    except BaseException as exc:  # noqa: BLE001 - exec failed or a limit could not be set
        os.write(2, f"[sandbox] could not start the program: {exc}\n".encode())
    _exit(127)


def _kill_rest(pid):
    """Kill whatever the run left behind: every process of the namespace, or the run's session outside one."""
    try:
        if PIDNS:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _collect(pid, pipes, cap, deadline):
    """Read stdout, stderr and status concurrently with a byte cap until the child exits or time runs out."""
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
                _kill_rest(pid)  # the program is done: background children die now, and the pipes close
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
    _kill_rest(pid)
    sel.close()
    os.close(pidfd)
    return buffers, timeout, over


def _run(req):
    limits = req["limits"]
    for name, text in (req.get("files") or {}).items():
        path = os.path.join(WORKDIR, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    nonce = req.get("nonce") or os.urandom(16).hex()
    stdin_fd = os.memfd_create("stdin")
    os.write(stdin_fd, req.get("stdin", "").encode())
    os.lseek(stdin_fd, 0, os.SEEK_SET)
    (out_r, out_w), (err_r, err_w), (st_r, st_w) = os.pipe(), os.pipe(), os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(req, nonce, stdin_fd, out_w, err_w, st_w)
    for fd in (stdin_fd, out_w, err_w, st_w):
        os.close(fd)
    cap = limits["output_kb"] * 1024
    buffers, timeout, over = _collect(pid, (out_r, err_r, st_r), cap, start + limits["wall_s"])
    _, status, usage = os.wait4(pid, 0)
    wall_ms = (time.monotonic() - start) * 1000
    for fd in (out_r, err_r, st_r):
        os.close(fd)
    _reap()
    status_text = bytes(buffers[st_r]).decode(errors="replace")
    marker, _, value = status_text.partition("\n")
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
        "completed": marker == nonce,
        "value": value if marker == nonce else None,
        "wall_ms": round(wall_ms, 2),
        "cpu_ms": round(cpu_ms, 2),
        "max_rss_kb": usage.ru_maxrss,
    }


def _reap():
    """As PID 1, collect the orphans the run left (already killed)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _reset():
    """Empty the work dir; a dir the program made unremovable means this worker is retired."""
    for name in os.listdir(WORKDIR):
        path = os.path.join(WORKDIR, name)
        for root, dirs, _ in os.walk(path):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o700)
                except OSError:
                    pass
        try:
            os.chmod(path, 0o700)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
        except OSError:
            pass
    return {"clean": not os.listdir(WORKDIR)}


def _undumpable():
    """No ptrace and no /proc/<pid>/mem of this worker by the code it runs."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def main():
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _undumpable()
    os.makedirs(WORKDIR, exist_ok=True)
    gc.freeze()  # children never touch the worker's objects for collection: fewer copied pages per fork
    _send(ctrl_out, {"ready": True, "pid1": PIDNS})
    while True:
        try:
            req = _recv(ctrl_in)
        except EOFError:
            return
        try:
            reply = _run(req) if req["op"] == "run" else _reset()
        except Exception as exc:  # noqa: BLE001 - report, the service retires the worker
            reply = {"worker_error": f"{type(exc).__name__}: {exc}"}
        _send(ctrl_out, reply)


main()
