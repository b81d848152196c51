"""One run's forked child: between fork and the program (its cgroup, session, fds, limits), then the program
the way `python main.py` would run it, and the test part, if any.

Script and call tests run in the program's own process under the guard (sandbox.worker.guard). Their
completion marker is a per-run secret that only the harness writes, on fd 3, after the test; a value a call
returns is written as JSON by functions captured before the program ran (`encode`).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found] # the C module under signal, which typeshed leaves out
import atexit
import builtins
import json
import os
import resource
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, NoReturn, TextIO

from sandbox.worker.guard import Snapshot, audit, guard_test

STATUS_FD = 3
SECRET_FD = 4  # what a harness reads and closes before the program runs (the test, the completion marker)
EXEC_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
SET_HANDLER = _signal.signal  # the C function, before guard.harden_modules wraps it (no enum conversions)
WORKER_STDIO = (sys.stdin, sys.stdout, sys.stderr)  # held, so a child replacing them frees nothing


class Setting(NamedTuple):
    """What every run's child starts from, made once by the worker before its first fork; a child reads it only
    before the program runs (the program could patch this class, see guard)."""

    workdir: str
    cgroup_fd: int | None  # the runs' cgroup.procs: each run's first process moves itself in
    disk_mb: int
    stdio: tuple[TextIO, TextIO, TextIO]  # see make_stdio
    pristine: dict[str, Any]  # the builtins as the worker has them: a script test's own builtins start from these
    snapshot: Snapshot


def set_limits(limits: dict[str, Any], disk_mb: int) -> None:
    """rlimits of one run; effective because the uid holds no capabilities."""
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    memory = limits["memory_mb"] * 1024 * 1024
    disk = disk_mb * 1024 * 1024
    for res, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_DATA, (memory, memory)),
        (resource.RLIMIT_FSIZE, (disk, disk)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_NPROC, (limits["pids"] + 1, limits["pids"] + 1)),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(res, value)


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _print_exception(stderr: TextIO, _exc_info: Callable[[], Any] = sys.exc_info,
                     _excepthook: Callable[..., Any] = sys.__excepthook__, _sys: Any = sys,
                     _with_traceback: Callable[[BaseException, Any], BaseException] = BaseException.with_traceback,
                     ) -> None:
    """The current exception's traceback without the harness's frame, printed natively (no frame access)."""
    kind, exc, tb = _exc_info()
    _sys.stderr = stderr
    _excepthook(kind, _with_traceback(exc, tb.tb_next), tb.tb_next)


def finish(code: int, _exit: Callable[[int], NoReturn] = os._exit) -> NoReturn:
    """What the interpreter does at exit: join threads, run atexit, flush; then leave without unwinding."""
    steps: tuple[Callable[[], object], ...] = (threading._shutdown,  # type: ignore[attr-defined] # what exit runs
                                               atexit._run_exitfuncs, sys.stdout.flush, sys.stderr.flush)
    for step in steps:
        try:
            step()
        except BaseException:  # noqa: BLE001, S110 - the program's own exit handlers may fail; exit anyway
            pass
    _exit(code)


# How `encode(typed=True)` tags the containers JSON has no word for; sandbox.scripts reads them back.
TAGGED: tuple[tuple[type, str, Callable[[Any], Iterable[Any]]], ...] = (
    (tuple, "t", tuple.__iter__), (set, "s", set.__iter__), (frozenset, "f", frozenset.__iter__))


def encode(value: Any, depth: int = 0, typed: bool = False, _type: type[type] = type,
           _subclass: Callable[[type, type], bool] = issubclass, _float_repr: Callable[[float], str] = float.__repr__,
           _int_repr: Callable[[int], str] = int.__repr__,
           _str_encode: Callable[[str], str] = json.encoder.encode_basestring_ascii,
           _join: Callable[[Iterable[str]], str] = ", ".join,
           _items: Callable[[dict[Any, Any]], Iterable[tuple[Any, Any]]] = dict.items,
           _list_iter: Callable[[list[Any]], Iterable[Any]] = list.__iter__,
           _tagged: tuple[tuple[type, str, Callable[[Any], Iterable[Any]]], ...] = TAGGED) -> str:
    """JSON of a value of builtin types, using functions captured before the program ran.

    A returned object cannot steer its own comparison: every function used here was bound before the program
    could patch anything. Plain (call tests): exact types only, tuples as lists, str keys; subclasses (an
    `__eq__` that says yes, a custom `__repr__`) are rejected. `typed` (assert statements run as calls, compared
    with Python's `==` by the service): tuples, sets and any keys keep their kind, and a subclass of a builtin
    type (Counter, a namedtuple, an IntEnum) counts as the data it holds, read by the base type's own methods.
    """
    if depth > 64:
        raise ValueError("value nested too deeply")
    kind = _type(value)
    if value is None or kind is bool:
        return {None: "null", True: "true", False: "false"}[value]
    if kind is int or typed and _subclass(kind, int):
        return _int_repr(value)
    if kind is float or typed and _subclass(kind, float):
        text = _float_repr(value)
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text)
    if kind is str or typed and _subclass(kind, str):
        return _str_encode(value)
    if kind is list or typed and _subclass(kind, list) or kind is tuple and not typed:
        return "[" + _join([encode(v, depth + 1, typed) for v in (_list_iter(value) if typed else value)]) + "]"
    if typed:
        for base, tag, iterate in _tagged:
            if _subclass(kind, base):
                return '{"' + tag + '": [' + _join([encode(v, depth + 1, True) for v in iterate(value)]) + "]}"
        if _subclass(kind, dict):
            pairs = ["[" + encode(k, depth + 1, True) + ", " + encode(v, depth + 1, True) + "]"
                     for k, v in _items(value)]
            return '{"d": [' + _join(pairs) + "]}"
    elif kind is dict:
        parts = []
        for key, item in _items(value):
            if _type(key) is not str:
                raise TypeError(f"dict key of type {_type(key).__name__} is not a string")
            parts.append(_str_encode(key) + ": " + encode(item, depth + 1))
        return "{" + _join(parts) + "}"
    raise TypeError(f"returned a {kind.__name__}; only None, bool, int, float, str, list, tuple and dict compare"
                    + (" (and set, frozenset)" if typed else ""))


def _function(program: dict[str, Any], fn_name: str, _getattr: Callable[[object, str], Any] = getattr,
              _isinstance: Callable[[object, type], bool] = isinstance, _type: type[type] = type) -> Any:
    """The program's `fn_name` (or `Class.method`, on an instance made with no arguments)."""
    target: Any = program
    for part in fn_name.split("."):
        target = target[part] if target is program else _getattr(target, part)
        if _isinstance(target, _type):
            target = target()
    return target


def _python_child(req: dict[str, Any], nonce: str, setting: Setting, _len: Callable[[str], int] = len) -> NoReturn:
    """Run the program in this forked child the way `python main.py` would, then the test part, if any.

    Modes: main (just the program), script (a test run after it), call (one function's value), calls (several
    functions' values, each called with literal arguments: assert statements the service runs as calls).

    Nothing of `setting` is read once the program ran: the program can patch the Setting class (see guard)."""
    mode = req.get("mode", "main")
    pristine, snapshot = setting.pristine, setting.snapshot
    sys.argv = ["main.py"]
    # the children's own stdio objects, also as sys.__std*__: a program putting those back gets these
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = setting.stdio  # type: ignore[misc,assignment] # sys.__std*__ are Final in typeshed
    stderr, write_status, compile_, exec_ = sys.stderr, os.write, compile, exec
    source, test, fn_name, args = req["source"], req.get("test"), req.get("fn_name", ""), req.get("args", [])
    calls, modules = req.get("calls", []), req.get("modules", [])
    del req
    main = types.ModuleType("__main__")
    program = main.__dict__
    program.update(__file__="main.py", __builtins__=builtins)
    sys.modules["__main__"] = main
    if mode != "main":
        sys.dont_write_bytecode = True  # bytecode is only trusted from the read-only standard library
        sys.addaudithook(audit)
    try:
        exec_(compile_(source, "main.py", "exec", dont_inherit=True, optimize=0), program)
    except SystemExit as exc:
        code = _exit_code(exc)
        if mode != "main":
            print(f"[sandbox] the program exited (code {code}) before the test ran", file=stderr)
        finish(code)
    except BaseException:  # noqa: BLE001 - report like the interpreter does
        _print_exception(stderr)
        finish(1)
    if mode == "main":
        finish(0)
    try:
        if mode == "call":
            payload = encode(_function(program, fn_name)(*args))
        elif mode == "calls":
            values = []
            for name, literal_args, literal_kwargs in calls:  # literals only: nothing of the program runs here
                positional = eval(compile_(literal_args, "test.py", "eval", dont_inherit=True), {"__builtins__": {}})  # noqa: S307
                keywords = eval(compile_(literal_kwargs, "test.py", "eval", dont_inherit=True), {"__builtins__": {}})  # noqa: S307
                values.append(encode(_function(program, name)(*positional, **keywords), typed=True))
            payload = "[" + ", ".join(values) + "]"
        else:
            # The test sees the program's names but pristine builtins: shadowing `abs` or patching
            # `builtins.len` does not reach the test's own checks.
            test_builtins, kept = guard_test(main, pristine, snapshot)  # noqa: F841 - kept until exit: no finalizers run
            scope = {k: v for k, v in program.items() if k not in pristine}
            scope.update(__builtins__=test_builtins, __name__="__main__")
            for name in modules:  # a standard module the test uses (math.isclose) that the program's name hides
                try:
                    real = test_builtins["__import__"](name, None, None, (), 0)
                except ImportError:
                    continue
                if name in scope and scope[name] is not real:
                    scope[name] = real
            if test is None:
                raise ValueError("a script run without its test")
            exec_(compile_(test, "test.py", "exec", dont_inherit=True, optimize=0), scope)
            payload = ""
    except SystemExit as exc:
        code = _exit_code(exc)
        print(f"[sandbox] the program exited (code {code}) before the test finished", file=stderr)
        finish(code)
    except BaseException:  # noqa: BLE001
        _print_exception(stderr)
        finish(1)
    write_status(STATUS_FD, f"{nonce}\n{_len(payload)}\n{payload}".encode())
    finish(0)


def make_stdio() -> tuple[TextIO, TextIO, TextIO]:
    """The children's sys.stdin, stdout and stderr, made once in the worker over fds like theirs (a memfd on 0,
    pipes on 1 and 2), so a run pays no codec lookups and buffer set-up. The worker itself never uses them."""
    saved = [os.dup(fd) for fd in (0, 1, 2)]
    stdin, (read_end, write_end) = os.memfd_create("stdin"), os.pipe()
    for src, dst in ((stdin, 0), (write_end, 1), (write_end, 2)):
        os.dup2(src, dst)
    stdio = (open(0, encoding="utf-8", errors="replace", closefd=False),  # noqa: SIM115
             open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False),  # noqa: SIM115
             open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False))  # noqa: SIM115
    for fd, old in enumerate(saved):
        os.dup2(old, fd)
        os.close(old)
    for fd in (stdin, read_end, write_end):
        os.close(fd)
    return stdio


def child(req: dict[str, Any], nonce: str, fds: tuple[int, int, int, int, int, int | None], setting: Setting,
          _exit: Callable[[int], NoReturn] = os._exit) -> NoReturn:
    """Between fork and the program: its cgroup, new session, fds, limits, then the program. `fds`: stdin,
    stdout and stderr, the status pipe, the set-up error pipe, and the secret (or None).

    A failure of the sandbox's own set-up goes to the set-up pipe, which the program never holds: the worker
    reports it as its own failure, which a program cannot fake to turn a wrong answer into a sandbox error.
    """
    stdin_fd, out_w, err_w, status_w, setup_w, secret_fd = fds
    try:
        if setting.cgroup_fd is not None:
            os.write(setting.cgroup_fd, b"0")  # "0": the writer itself, and so everything it forks
    except OSError as exc:
        os.write(setup_w, f"cannot move the run into its cgroup: {exc}".encode())
        _exit(127)
    os.close(setup_w)
    try:
        os.setsid()
        for src, dst in ((stdin_fd, 0), (out_w, 1), (err_w, 2), (status_w, STATUS_FD), (secret_fd, SECRET_FD)):
            if src is not None:
                os.dup2(src, dst)
        os.closerange(STATUS_FD + 1 if secret_fd is None else SECRET_FD + 1, 65536)
        os.chdir(setting.workdir)
        set_limits(req["limits"], setting.disk_mb)
        SET_HANDLER(_signal.SIGINT, _signal.default_int_handler)  # C handler: takes no frame
        if req.get("argv"):
            SET_HANDLER(_signal.SIGPIPE, _signal.SIG_DFL)
            os.execve(req["argv"][0], req["argv"], EXEC_ENV)
        _python_child(req, nonce, setting)
    except BaseException as exc:  # noqa: BLE001 - exec failed or a limit could not be set
        os.write(2, f"[sandbox] could not start the program: {exc}\n".encode())
    _exit(127)
