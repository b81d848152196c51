"""The warm worker that lives inside the jail: it forks one child per run, so a run pays no interpreter start-up.

Standalone (stdlib only): the service passes this file's text to `python -c`, so none of the service's files
are inside the jail. It runs as PID 1 of its own PID namespace, which makes it immune to signals from the code
it runs; after every run it kills every other process in the namespace, so nothing outlives a run.

Protocol on fds 0 (requests) and 1 (replies), both moved out of the way at start: 4-byte big-endian length +
JSON. Requests: {"op": "run", ...} -> result (with "dirty": the work dir is not empty); {"op": "stash", "names"}
-> {} (keeps those files, e.g. a compiled program, in memory); {"op": "reset", "restore"?} -> {"clean": bool}
(empties the work dir; with "restore", puts the stashed files back, else forgets them).

Script and call tests run the test in the program's own process, so the harness guards it (see `_audit` and
`_guard_test`): an audit hook that cannot be removed refuses frames, code objects, every-object scans, raw memory,
new programs and hand-made bytecode; signal handlers get no frame; the modules the test reaches (those the program
holds, and what the test imports) are put back as the worker had them before the test uses them. The completion
marker is a per-run secret that only the harness writes, after the test.
"""

import _imp
import _signal
import atexit
import builtins
import gc
import importlib
import json
import operator
import os
import re
import resource
import selectors
import signal
import site
import struct
import sys
import threading
import time
import types

# The harness's own builtins, a private copy: every function below looks names up here, and C code that imports
# while a harness frame is on top (a traceback's source lines) calls this __import__, not one a program put into
# the builtins module, which would be handed these globals.
__builtins__ = dict(vars(builtins))

# Started with -S: the site-packages' .pth files (which import whatever they like, 4 MB here) do not run in
# the worker; programs still get exit(), quit(), help() and site-packages on their path, as under `python`.
site.setquit()
site.setcopyright()
site.sethelper()
sys.path.extend(path for path in site.getsitepackages() if os.path.isdir(path) and path not in sys.path)

# Imported once here so that the forked children get them for free. Each preload also makes every fork and
# exit dearer (more pages and mappings), so only what solutions commonly import: not dataclasses (1 MB with
# inspect) or hashlib (OpenSSL).
PRELOAD = ("bisect", "collections", "copy", "decimal", "fractions", "functools", "heapq", "io", "itertools",
           "math", "operator", "random", "statistics", "string", "typing")
for _module in PRELOAD:
    importlib.import_module(_module)

PRISTINE_BUILTINS = dict(builtins.__dict__)
SET_HANDLER = _signal.signal  # the C function, before _guard_modules wraps it (no enum conversions)
WORKER_STDIO = (sys.stdin, sys.stdout, sys.stderr)  # held, so a child replacing them frees nothing
TEST_BUILTINS = dict(PRISTINE_BUILTINS)  # a script test's own builtins: what the program patches is not seen
STATUS_FD = 3
SECRET_FD = 4  # what a harness reads and closes before the program runs (the test, the completion marker)
EXEC_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
CONFIG = json.loads(os.environ.get("SANDBOX_WORKER_CONFIG", "{}"))
WORKDIR = CONFIG.get("workdir", "/tmp")
PIDNS = CONFIG.get("pidns", False) and os.getpid() == 1  # only then may kill(-1) be used
CGROUP_FD = CONFIG.get("cgroup_fd")  # the runs' cgroup.procs: each run's first process moves itself in
MEMORY_RE = re.compile(r"MemoryError|std::bad_alloc|heap out of memory|Cannot allocate memory")


class SandboxRefusal(ValueError):
    """What a program under test gets for reaching past its own objects; a ValueError, so the standard library's
    own frame lookups (namedtuple, enum, typing, logging) fall back quietly as on interpreters without frames."""


REFUSED_EVENTS = frozenset({
    # frames and tracers lead to the test's locals, its code's constants and the harness's own state
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "sys.settrace", "sys.setprofile",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",  # every object of the process
    "sys.addaudithook",  # a hook of its own would see the test's source ("compile") and code ("exec")
    "code.__new__", "marshal.load",  # hand-made bytecode reads and writes raw memory
    "os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen",  # a new program has no hook
    # a forked copy runs the test with guesses and tells the parent which one passed: the test as an oracle
    "os.fork", "os.forkpty",
})
# The ways from an object to a frame, and the defaults that hide the originals behind the wrappers below.
REFUSED_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "__defaults__", "__kwdefaults__"})
# Rewriting a function's code in place would turn a harness function (the audit hook itself) into the program's.
# (Defaults stay writable: namedtuple sets them; the harness's own are out of a program's reach.)
REFUSED_WRITES = frozenset({"__code__"})
REFUSED_MODULES = frozenset({  # raw memory, other interpreters, or exec without an audit event
    "ctypes", "_ctypes", "_ctypes_test", "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase",
    "_testclinic", "_testimportmultiple", "_xxtestfuzz", "_xxsubinterpreters", "xxlimited", "xxlimited_35",
    "_posixsubprocess",
})
TRUSTED_BYTECODE = tuple({os.path.realpath(sys.base_prefix) + os.sep, os.path.realpath(sys.prefix) + os.sep})


def _refuse(what, _refusal=SandboxRefusal):
    raise _refusal(f"sandbox: {what} is not available to programs under script or call tests")


def _audit(event, args, _events=REFUSED_EVENTS, _attributes=REFUSED_ATTRIBUTES, _writes=REFUSED_WRITES,
           _modules=REFUSED_MODULES, _trusted=TRUSTED_BYTECODE, _opened=[None],  # noqa: B006
           _type=type, _str=str, _bytes=bytes, _refuse=_refuse,
           _os_open=os.open, _rdonly=os.O_RDONLY, _read=os.read, _close=os.close, _fstat=os.fstat):
    """The audit hook of script and call runs; bound only to objects captured before the program ran."""
    if event in _events:
        _refuse(event)
    if event == "object.__getattr__":
        if args[1] in _attributes:
            _refuse(f"the attribute {args[1]}")
    elif event == "object.__setattr__":
        if args[1] in _writes:
            _refuse(f"setting the attribute {args[1]}")
    elif event == "import":
        name, path = args[0], args[1]
        parts = name.split(".") if _type(name) is _str else ()
        stem = path.rpartition("/")[2].partition(".")[0] if _type(path) is _str else ""
        if not parts or path is not None and not stem or stem in _modules or any(p in _modules for p in parts):
            _refuse(f"the module {name!r}" if _type(name) is _str else "importing by a non-str name")
    elif event == "open":
        path = args[0]
        _opened[0] = path if _type(path) is _str and path.endswith(".pyc") and path.startswith(_trusted) else None
    elif event == "marshal.loads":
        # Only bytecode the import system read from the read-only standard library: the bytes must be the file's.
        path, _opened[0] = _opened[0], None
        data = args[0]
        if path is None or _type(data) is not _bytes:
            _refuse("marshal.loads")
        fd = _os_open(path, _rdonly)
        try:
            content = _read(fd, _fstat(fd).st_size + 1)
        finally:
            _close(fd)
        if content[16:] != data:
            _refuse("marshal.loads")


def _frameless_signal(signalnum, handler, _install=None, _callable=None):
    """signal.signal whose handlers get None for the frame: a frame leads to every caller's locals."""
    if _callable(handler):
        handler = lambda signum, frame, _handler=handler: _handler(signum, None)  # noqa: E731
    return _install(signalnum, handler)


def _create_builtin(spec, _create=None, _type=None, _str=None, _spec=None, _refuse=None):
    """_imp.create_builtin without fresh copies of _signal or _imp, which would bring back signal frames."""
    name = spec.name
    if _type(name) is not _str or name in ("_signal", "_imp"):
        _refuse(f"a fresh copy of the builtin module {name!r}")
    return _create(_spec(name=name))


def _private(template, *defaults, _function=types.FunctionType):
    """`template` rebound to empty globals and hidden defaults (reading __defaults__ is refused under test)."""
    fn = _function(template.__code__, {"__builtins__": {}}, template.__name__.strip("_"), defaults)
    fn.__doc__ = template.__doc__
    return fn


def _dependencies(name, attrs, loaded):
    """The loaded modules `name` relies on: its submodules, modules it holds, and homes of what it imported."""
    found = {other for other in loaded if other.startswith(name + ".")}
    for value in attrs.values():
        home = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if isinstance(home, str) and home in loaded and home != name:
            found.add(home)
    return tuple(found)


def _classes(name, attrs, _immutable=1 << 8):
    """The classes module `name` defines that a program could patch: each with its metaclass, bases and dict."""
    return tuple((value, type(value), value.__bases__, dict(vars(value))) for value in attrs.values()
                 if isinstance(value, type) and value.__module__ == name and not value.__flags__ & _immutable)


def _guard_modules():
    """Patch signal and _imp in place (in the worker, so the snapshot below keeps them), then snapshot."""
    _signal.signal = _private(_frameless_signal, _signal.signal, callable)  # signal.signal calls this one
    _imp.create_builtin = _private(_create_builtin, _imp.create_builtin, type, str, types.SimpleNamespace,
                                   _refuse)
    loaded = {name: module for name, module in sys.modules.items()
              if name != "__main__" and isinstance(module, types.ModuleType)}
    modules = {}
    for name, module in loaded.items():
        attrs = dict(vars(module))
        modules[name] = (module, type(module), vars(module), attrs, _dependencies(name, attrs, loaded),
                         _classes(name, attrs))
    entries = dict(sys.modules)
    del entries["__main__"]
    lists = [(lst, list(lst)) for lst in (sys.meta_path, sys.path_hooks, sys.path)]
    return modules, entries, lists, (sys.path_importer_cache, dict(sys.path_importer_cache))


MODULES, ENTRIES, LISTS, CACHE = _guard_modules()
SYS_STATE = MODULES["sys"][3]
ALWAYS_RESTORED = ("sys", "builtins", "_frozen_importlib", "_frozen_importlib_external")


def _restore_classes(classes, kept, _type=type, _vars=vars, _len=len, _all=all, _map=map, _is=operator.is_,
                     _bases=type.__dict__["__bases__"].__get__, _setattr=object.__setattr__,
                     _set=type.__setattr__, _delete=type.__delattr__, _dict=dict, _missing=object()):
    """Put back classes a program patched (`Fraction.__eq__`, an import finder's method): metaclass, bases, dict."""
    for cls, meta, bases, attrs in classes:
        if _type(cls) is not meta:
            _setattr(cls, "__class__", meta)
        if _bases(cls) is not bases:
            _set(cls, "__bases__", bases)
        current = _vars(cls)
        if _len(current) == _len(attrs) and _all(_map(_is, current, attrs)) and \
                _all(_map(_is, current.values(), attrs.values())):
            continue
        kept.append(_dict(current))
        for key in [key for key in current if key not in attrs]:
            try:
                _delete(cls, key)
            except (AttributeError, TypeError):
                pass
        for key, value in attrs.items():
            if current.get(key, _missing) is not value:
                try:
                    _set(cls, key, value)
                except (AttributeError, TypeError):
                    pass


def _restore(names, done, kept, _snapshot=MODULES, _type=type, _dict=dict, _setattr=object.__setattr__,
             _restore_classes=_restore_classes):
    """Put back the modules `names` and everything they rely on: attributes, class and the classes they define,
    as the worker had them.

    Touching a module's attributes copies its pages out of the fork, so only what the test can reach is put
    back. Everything replaced stays referenced in `kept`, so no finalizer of the program runs in between.
    """
    pending = [n for n in names if n in _snapshot]
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        module, cls, namespace, attrs, dependencies, classes = _snapshot[name]
        if _type(module) is not cls:
            _setattr(module, "__class__", cls)
        kept.append(_dict(namespace))
        namespace.clear()
        namespace.update(attrs)
        _restore_classes(classes, kept)
        pending.extend(dependencies)


def _restore_imports(names, _main=None, _done=None, _kept=None, _modules=None, _entries=None, _lists=None,
                     _cache=None, _always=None, _restore=None, _dict=None, _list=None):
    """`names` as the worker had them, with the import system (sys, builtins, importlib's bootstrap) and all
    they rely on; the first call also puts back sys.modules, the import hooks and the path cache."""
    if not _done:
        _kept.append(_dict(_modules))
        _modules.clear()
        _modules.update(_entries)
        _modules["__main__"] = _main
        for lst, items in _lists:
            _kept.append(_list(lst))
            lst[:] = items
        _kept.append(_dict(_cache[0]))
        _cache[0].clear()
        _cache[0].update(_cache[1])
    _restore([*_always, *names], _done, _kept)


def _import_restored(name, globals=None, locals=None, fromlist=(), level=0, _import=None,  # noqa: A002
                     _restore_imports=None, _str=None, _type=None):
    """The test's __import__: the module (and what it relies on) as the worker had it, then the real import."""
    if _type(name) is _str:
        names, prefix = [], ""
        for part in name.split("."):
            prefix = prefix + "." + part if prefix else part
            names.append(prefix)
        _restore_imports(names)
    return _import(name, globals, locals, fromlist, level)


def _guard_test(main, _test_builtins=TEST_BUILTINS, _modules=sys.modules, _entries=ENTRIES, _lists=LISTS,
                _cache=CACHE, _names={id(m[0]): name for name, m in MODULES.items()}, _id=id, _vars=vars,  # noqa: B006
                _dict=dict, _list=list, _set=set, _type=type, _str=str, _always=ALWAYS_RESTORED,
                _restore=_restore, _private=_private, _import=PRISTINE_BUILTINS["__import__"]):
    """The test's builtins, with an __import__ that first puts back what it imports as the worker had it.

    The modules the program holds are put back now; anything else the test reaches only by importing it. So
    what the test uses is what the worker imported, not what the program patched (math.isclose, sys.modules,
    import hooks); modules the program added are dropped, so the test imports them afresh. A program that
    touches no module costs nothing here: every module put back copies pages out of the fork.
    """
    kept, done = [], _set()
    restore_imports = _private(_restore_imports, main, done, kept, _modules, _entries, _lists, _cache, _always,
                               _restore, _dict, _list)
    if held := [_names[_id(v)] for k, v in _vars(main).items() if _id(v) in _names and k != "__builtins__"]:
        restore_imports(held)
    _test_builtins["__import__"] = _private(_import_restored, _import, restore_imports, _str, _type)
    return _test_builtins, kept


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


def _print_exception(stderr, _exc_info=sys.exc_info, _excepthook=sys.__excepthook__, _sys=sys,
                     _with_traceback=BaseException.with_traceback):
    """The current exception's traceback without the harness's frame, printed natively (no frame access)."""
    kind, exc, tb = _exc_info()
    _sys.stderr = stderr
    _excepthook(kind, _with_traceback(exc, tb.tb_next), tb.tb_next)


def _finish(code, _exit=os._exit):
    """What the interpreter does at exit: join threads, run atexit, flush; then leave without unwinding."""
    for step in (threading._shutdown, atexit._run_exitfuncs, sys.stdout.flush, sys.stderr.flush):
        try:
            step()
        except BaseException:  # noqa: BLE001, S110 - the program's own exit handlers may fail; exit anyway
            pass
    _exit(code)


# How `_encode(typed=True)` tags the containers JSON has no word for; sandbox.scripts reads them back.
TAGGED = ((tuple, "t", tuple.__iter__), (set, "s", set.__iter__), (frozenset, "f", frozenset.__iter__))


def _encode(value, depth=0, typed=False, _type=type, _subclass=issubclass, _float_repr=float.__repr__,
            _int_repr=int.__repr__, _str_encode=json.encoder.encode_basestring_ascii, _join=", ".join,
            _items=dict.items, _list_iter=list.__iter__, _tagged=TAGGED):
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
        return "[" + _join([_encode(v, depth + 1, typed) for v in (_list_iter(value) if typed else value)]) + "]"
    if typed:
        for base, tag, iterate in _tagged:
            if _subclass(kind, base):
                return '{"' + tag + '": [' + _join([_encode(v, depth + 1, True) for v in iterate(value)]) + "]}"
        if _subclass(kind, dict):
            pairs = ["[" + _encode(k, depth + 1, True) + ", " + _encode(v, depth + 1, True) + "]"
                     for k, v in _items(value)]
            return '{"d": [' + _join(pairs) + "]}"
    elif kind is dict:
        parts = []
        for key, item in _items(value):
            if _type(key) is not str:
                raise TypeError(f"dict key of type {_type(key).__name__} is not a string")
            parts.append(_str_encode(key) + ": " + _encode(item, depth + 1))
        return "{" + _join(parts) + "}"
    raise TypeError(f"returned a {kind.__name__}; only None, bool, int, float, str, list, tuple and dict compare"
                    + (" (and set, frozenset)" if typed else ""))


def _function(program, fn_name, _getattr=getattr, _isinstance=isinstance, _type=type):
    """The program's `fn_name` (or `Class.method`, on an instance made with no arguments)."""
    target = program
    for part in fn_name.split("."):
        target = target[part] if target is program else _getattr(target, part)
        if _isinstance(target, _type):
            target = target()
    return target


def _python_child(req, nonce, _len=len):
    """Run the program in this forked child the way `python main.py` would, then the test part, if any.

    Modes: main (just the program), script (a test run after it), call (one function's value), calls (several
    functions' values, each called with literal arguments: assert statements the service runs as calls)."""
    mode = req.get("mode", "main")
    sys.argv = ["main.py"]
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = STDIO
    stderr, write_status, compile_, exec_ = sys.stderr, os.write, compile, exec
    source, test, fn_name, args = req["source"], req.get("test"), req.get("fn_name"), req.get("args", [])
    calls, modules = req.get("calls", []), req.get("modules", [])
    del req
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = "main.py", builtins
    sys.modules["__main__"] = main
    program = main.__dict__
    if mode != "main":
        sys.dont_write_bytecode = True  # bytecode is only trusted from the read-only standard library
        sys.addaudithook(_audit)
    try:
        exec_(compile_(source, "main.py", "exec", dont_inherit=True, optimize=0), program)
    except SystemExit as exc:
        code = _exit_code(exc)
        if mode != "main":
            print(f"[sandbox] the program exited (code {code}) before the test ran", file=stderr)
        _finish(code)
    except BaseException:  # noqa: BLE001 - report like the interpreter does
        _print_exception(stderr)
        _finish(1)
    if mode == "main":
        _finish(0)
    try:
        if mode == "call":
            payload = _encode(_function(program, fn_name)(*args))
        elif mode == "calls":
            values = []
            for name, literal_args, literal_kwargs in calls:  # literals only: nothing of the program runs here
                positional = eval(compile_(literal_args, "test.py", "eval", dont_inherit=True), {"__builtins__": {}})  # noqa: S307
                keywords = eval(compile_(literal_kwargs, "test.py", "eval", dont_inherit=True), {"__builtins__": {}})  # noqa: S307
                values.append(_encode(_function(program, name)(*positional, **keywords), typed=True))
            payload = "[" + ", ".join(values) + "]"
        else:
            # The test sees the program's names but pristine builtins: shadowing `abs` or patching
            # `builtins.len` does not reach the test's own checks.
            test_builtins, kept = _guard_test(main)  # noqa: F841 - kept until exit: no finalizers run
            scope = {k: v for k, v in program.items() if k not in PRISTINE_BUILTINS}
            scope.update(__builtins__=test_builtins, __name__="__main__")
            for name in modules:  # a standard module the test uses (math.isclose) that the program's name hides
                try:
                    real = test_builtins["__import__"](name, None, None, (), 0)
                except ImportError:
                    continue
                if name in scope and scope[name] is not real:
                    scope[name] = real
            exec_(compile_(test, "test.py", "exec", dont_inherit=True, optimize=0), scope)
            payload = ""
    except SystemExit as exc:
        code = _exit_code(exc)
        print(f"[sandbox] the program exited (code {code}) before the test finished", file=stderr)
        _finish(code)
    except BaseException:  # noqa: BLE001
        _print_exception(stderr)
        _finish(1)
    write_status(STATUS_FD, f"{nonce}\n{_len(payload)}\n{payload}".encode())
    _finish(0)


def _make_stdio():
    """The children's sys.stdin, stdout and stderr, made once here over fds like theirs (a memfd on 0, pipes on
    1 and 2), so a run pays no codec lookups and buffer set-up. The worker itself never uses them."""
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


def _child(req, nonce, stdin_fd, out_w, err_w, status_w, setup_w, secret_fd, _exit=os._exit):
    """Between fork and the program: its cgroup, new session, fds, limits, then the program.

    A failure of the sandbox's own set-up goes to `setup_w`, which the program never holds: the worker reports
    it as its own failure, which a program cannot fake to turn a wrong answer into a sandbox error.
    """
    try:
        if CGROUP_FD is not None:
            os.write(CGROUP_FD, b"0")  # "0": the writer itself, and so everything it forks
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
        os.chdir(WORKDIR)
        _set_limits(req["limits"])
        SET_HANDLER(_signal.SIGINT, _signal.default_int_handler)  # C handler: takes no frame
        if req.get("argv"):
            SET_HANDLER(_signal.SIGPIPE, _signal.SIG_DFL)
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
    stdin_fd, secret_fd = _memfd("stdin", req.get("stdin", "")), None
    if req.get("secret") is not None:
        secret_fd = _memfd("secret", req["secret"])
    (out_r, out_w), (err_r, err_w), (st_r, st_w), (setup_r, setup_w) = os.pipe(), os.pipe(), os.pipe(), os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(req, nonce, stdin_fd, out_w, err_w, st_w, setup_w, secret_fd)
    for fd in (stdin_fd, out_w, err_w, st_w, setup_w, secret_fd):
        if fd is not None:
            os.close(fd)
    cap = limits["output_kb"] * 1024
    buffers, timeout, over = _collect(pid, (out_r, err_r, st_r), cap, start + limits["wall_s"])
    _, status, usage = os.wait4(pid, 0)
    wall_ms = (time.monotonic() - start) * 1000
    for fd in (out_r, err_r, st_r):
        os.close(fd)
    _reap()
    setup_error = os.read(setup_r, 4096).decode(errors="replace")
    os.close(setup_r)
    if setup_error:
        raise RuntimeError(setup_error)  # the service retires this worker; the run is a sandbox_error
    try:
        dirty = bool(os.listdir(WORKDIR)) or os.stat(WORKDIR).st_mode != WORKDIR_MODE
    except OSError:  # the program took away the dir's permissions
        dirty = True
    completed, value = _completion(bytes(buffers[st_r]).decode(errors="replace"), nonce)
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


def _memfd(name, text):
    """A file only in memory holding `text`, read from its start."""
    fd = os.memfd_create(name)
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _completion(status, nonce):
    """(completed, value) from the status pipe: exactly `nonce`, the value's length and the value, nothing else."""
    marker, _, rest = status.partition("\n")
    size, _, value = rest.partition("\n")
    if marker != nonce or not size.isdigit() or len(value) != int(size):
        return False, None
    return True, value


def _reap(grace_s=2.0):
    """As PID 1, collect the orphans the run left (already SIGKILLed), waiting for the dying ones so none
    is still around when the next run starts; give up after `grace_s` (a process stuck in the kernel)."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not PIDNS or time.monotonic() > deadline:
                return
            time.sleep(0.001)


def _remove(path):
    """Delete `path` and all below it, giving directories back the permissions a program took away. (Not
    shutil.rmtree: importing shutil maps zlib, bz2 and lzma into the worker, and every fork copies them.)"""
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        for name in os.listdir(path):
            _remove(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


STASH = {}  # name -> (bytes, mode): files a job keeps across its tests (a compiled program)


def _stash(req):
    """Keep the named files of the work dir in memory, as they are now (before any program ran)."""
    STASH.clear()
    for name in req["names"]:
        path = os.path.join(WORKDIR, name)
        with open(path, "rb") as f:
            STASH[name] = (f.read(), os.stat(path).st_mode & 0o777)
    return {}


def _reset(req):
    """Empty the work dir and give it back its mode; with "restore", put the stashed files back, else forget them.

    Not clean (a dir the program made unremovable, or too deep): the caller treats the work dir as lost."""
    os.chmod(WORKDIR, WORKDIR_MODE)
    for name in os.listdir(WORKDIR):
        try:
            _remove(os.path.join(WORKDIR, name))
        except (OSError, RecursionError):
            pass
    if not req.get("restore"):
        STASH.clear()
    if os.listdir(WORKDIR):
        return {"clean": False}
    for name, (data, mode) in STASH.items():
        fd = os.open(os.path.join(WORKDIR, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(fd, "wb") as f:
            f.write(data)
    return {"clean": True}


def main():
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.makedirs(WORKDIR, exist_ok=True)
    global STDIO, WORKDIR_MODE
    WORKDIR_MODE = os.stat(WORKDIR).st_mode
    STDIO = _make_stdio()
    # sys as a test gets it back (see _restore): the children's argv and stdio, and no bytecode writes
    SYS_STATE.update(argv=["main.py"], stdin=STDIO[0], stdout=STDIO[1], stderr=STDIO[2], __stdin__=STDIO[0],
                     __stdout__=STDIO[1], __stderr__=STDIO[2], dont_write_bytecode=True)
    compile("pass", "warm-up", "exec")  # the compiler's AST types are made on first use: once here, not per run
    gc.freeze()  # children never touch the worker's objects for collection: fewer copied pages per fork
    _send(ctrl_out, {"ready": True, "pid1": PIDNS})
    while True:
        try:
            req = _recv(ctrl_in)
        except EOFError:
            return
        try:
            reply = {"run": _run, "stash": _stash, "reset": _reset}[req["op"]](req)
        except Exception as exc:  # noqa: BLE001 - report, the service retires the worker
            reply = {"worker_error": f"{type(exc).__name__}: {exc}"}
        _send(ctrl_out, reply)


main()
