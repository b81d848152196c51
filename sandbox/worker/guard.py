"""The guard of script and call tests, which run the test in the program's own process.

An audit hook that cannot be removed (`audit`) refuses frames, code objects, every-object scans, raw memory, new
programs and hand-made bytecode; signal handlers get no frame (`harden_modules`); the modules the test reaches
(those the program holds, and what the test imports) are put back as the worker had them before the test uses
them (`take_snapshot` in the worker, `guard_test` in the child).

Every function here that a program could reach or that runs after the program did is bound only to objects
captured before the program ran: in its defaults, or, for what is handed to the program's reach (`_private`), in
keyword defaults that the hook refuses to show, with empty globals. Nothing they use once the program ran is
looked up in a module (`types.FunctionType`) or read through a class of the harness (a NamedTuple's field): the
program patches modules, and finds every class through object.__subclasses__(), unaudited.
"""

from __future__ import annotations

import _imp
import _signal  # type: ignore[import-not-found] # the C module under signal, which typeshed leaves out
import builtins
import operator
import os
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from sandbox.errors import SandboxRefusal

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
# Put back before every test import: the import system itself, and what a program patches to reach the test.
ALWAYS_RESTORED = ("sys", "builtins", "_frozen_importlib", "_frozen_importlib_external")

ClassState = tuple[type, type, tuple[type, ...], dict[str, Any]]  # a class, its metaclass, bases and dict
# a module, its class, its namespace (live) and a copy of it, the modules it relies on, the classes it defines
ModuleState = tuple[types.ModuleType, type, dict[str, Any], dict[str, Any], tuple[str, ...], tuple[ClassState, ...]]


# The worker's modules and import system as they were before any program ran, in a plain tuple (see above):
# - modules: name -> ModuleState;
# - names: id(module) -> its name in `modules`;
# - live: sys.modules itself, put back in place, and entries: what it held (less __main__, each run's own);
# - lists: sys.meta_path, sys.path_hooks and sys.path, each with its items;
# - cache: sys.path_importer_cache with its items.
Snapshot = tuple[dict[str, ModuleState], dict[int, str], dict[str, Any], dict[str, Any],
                 tuple[tuple[list[Any], list[Any]], ...], tuple[dict[str, Any], dict[str, Any]]]


def refuse(what: str, _refusal: type[SandboxRefusal] = SandboxRefusal) -> NoReturn:
    """Raise the refusal a program under test gets for reaching `what`."""
    raise _refusal(f"sandbox: {what} is not available to programs under script or call tests")


def audit(event: str, args: tuple[Any, ...], _events: frozenset[str] = REFUSED_EVENTS,
          _attributes: frozenset[str] = REFUSED_ATTRIBUTES, _writes: frozenset[str] = REFUSED_WRITES,
          _modules: frozenset[str] = REFUSED_MODULES, _trusted: tuple[str, ...] = TRUSTED_BYTECODE,
          _opened: list[str | None] = [None],  # noqa: B006 - the path of the .pyc opened last, kept across calls
          _type: type[type] = type, _str: type[str] = str, _bytes: type[bytes] = bytes,
          _refuse: Callable[[str], NoReturn] = refuse, _os_open: Callable[[str, int], int] = os.open,
          _rdonly: int = os.O_RDONLY, _read: Callable[[int, int], bytes] = os.read,
          _close: Callable[[int], None] = os.close, _fstat: Callable[[int], os.stat_result] = os.fstat) -> None:
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


def _private(template: Callable[..., Any], _function: type[types.FunctionType] = types.FunctionType,
             **captured: object) -> types.FunctionType:
    """`template` rebound to empty globals, its keyword-only `captured` objects hidden in its keyword defaults
    (reading __kwdefaults__ is refused under test)."""
    fn = _function(template.__code__, {"__builtins__": {}}, template.__name__.strip("_"))
    fn.__kwdefaults__ = captured
    fn.__doc__ = template.__doc__
    return fn


def _frameless_signal(signalnum: int, handler: Any, *, _install: Callable[[int, Any], Any],
                      _callable: Callable[[object], bool]) -> Any:
    """signal.signal whose handlers get None for the frame: a frame leads to every caller's locals."""
    if _callable(handler):
        handler = lambda signum, frame, _handler=handler: _handler(signum, None)  # noqa: E731
    return _install(signalnum, handler)


def _create_builtin(spec: Any, *, _create: Callable[[Any], types.ModuleType], _type: type[type], _str: type[str],
                    _spec: type[types.SimpleNamespace], _refuse: Callable[[str], NoReturn]) -> types.ModuleType:
    """_imp.create_builtin without fresh copies of _signal or _imp, which would bring back signal frames."""
    name = spec.name
    if _type(name) is not _str or name in ("_signal", "_imp"):
        _refuse(f"a fresh copy of the builtin module {name!r}")
    return _create(_spec(name=name))


def harden_modules() -> None:
    """Patch signal and _imp in place, in the worker before its snapshot, so every child and test has them so."""
    _signal.signal = _private(_frameless_signal, _install=_signal.signal, _callable=callable)  # signal.signal calls it
    _imp.create_builtin = _private(_create_builtin, _create=_imp.create_builtin, _type=type, _str=str,
                                   _spec=types.SimpleNamespace, _refuse=refuse)


def _dependencies(name: str, attrs: dict[str, Any], loaded: Iterable[str]) -> tuple[str, ...]:
    """The loaded modules `name` relies on: its submodules, modules it holds, and homes of what it imported."""
    found = {other for other in loaded if other.startswith(name + ".")}
    for value in attrs.values():
        home = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if isinstance(home, str) and home in loaded and home != name:
            found.add(home)
    return tuple(found)


def _classes(name: str, attrs: dict[str, Any], _immutable: int = 1 << 8) -> tuple[ClassState, ...]:
    """The classes module `name` defines that a program could patch: each with its metaclass, bases and dict."""
    return tuple((value, type(value), value.__bases__, dict(vars(value))) for value in attrs.values()
                 if isinstance(value, type) and value.__module__ == name and not value.__flags__ & _immutable)


def take_snapshot(live: dict[str, Any], lists: tuple[list[Any], ...], cache: dict[str, Any]) -> Snapshot:
    """The modules in `live` (the worker's sys.modules) with all they hold, the import hooks and path `lists`,
    and the path importer `cache`, as they are now: taken once, after the worker imported all it ever will."""
    loaded = {name: module for name, module in live.items()
              if name != "__main__" and isinstance(module, types.ModuleType)}
    modules: dict[str, ModuleState] = {}
    for name, module in loaded.items():
        attrs = dict(vars(module))
        modules[name] = (module, type(module), vars(module), attrs, _dependencies(name, attrs, loaded),
                         _classes(name, attrs))
    entries = dict(live)
    entries.pop("__main__", None)
    return (modules, {id(state[0]): name for name, state in modules.items()}, live, entries,
            tuple((lst, list(lst)) for lst in lists), (cache, dict(cache)))


def _restore_classes(classes: tuple[ClassState, ...], kept: list[object], _type: type[type] = type,
                     _vars: Callable[[object], dict[str, Any]] = vars, _len: Callable[[Any], int] = len,
                     _all: Callable[[Iterable[object]], bool] = all, _map: type[map[Any]] = map,
                     _is: Callable[[object, object], bool] = operator.is_,
                     _bases: Callable[[type], tuple[type, ...]] = type.__dict__["__bases__"].__get__,
                     _setattr: Callable[[object, str, object], None] = object.__setattr__,
                     _set: Callable[[type, str, object], None] = type.__setattr__,
                     _delete: Callable[[type, str], None] = type.__delattr__, _dict: type[dict[Any, Any]] = dict,
                     _missing: object = object()) -> None:
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


def restore(names: Iterable[str], done: set[str], kept: list[object], snapshot: dict[str, ModuleState],
            _type: type[type] = type, _dict: type[dict[str, Any]] = dict,
            _setattr: Callable[[object, str, object], None] = object.__setattr__,
            _restore_classes: Callable[[tuple[ClassState, ...], list[object]], None] = _restore_classes) -> None:
    """Put back the modules `names` and everything they rely on: attributes, class and the classes they define,
    as `snapshot` has them (modules already `done` are skipped, and are added to it).

    Touching a module's attributes copies its pages out of the fork, so only what the test can reach is put
    back. Everything replaced stays referenced in `kept`, so no finalizer of the program runs in between.
    """
    pending = [n for n in names if n in snapshot]
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        module, cls, namespace, attrs, dependencies, classes = snapshot[name]
        if _type(module) is not cls:
            _setattr(module, "__class__", cls)
        kept.append(_dict(namespace))
        namespace.clear()
        namespace.update(attrs)
        _restore_classes(classes, kept)
        pending.extend(dependencies)


def _restore_imports(names: list[str], *, _main: types.ModuleType, _done: set[str], _kept: list[object],
                     _snapshot: Snapshot, _always: tuple[str, ...],
                     _restore: Callable[[list[str], set[str], list[object], dict[str, ModuleState]], None],
                     _dict: type[dict[Any, Any]], _list: type[list[Any]]) -> None:
    """`names` as the worker had them, with the import system (sys, builtins, importlib's bootstrap) and all
    they rely on; the first call also puts back sys.modules, the import hooks and the path cache."""
    modules, _, live, entries, lists, (cache, cached) = _snapshot
    if not _done:
        _kept.append(_dict(live))
        live.clear()
        live.update(entries)
        live["__main__"] = _main
        for lst, items in lists:
            _kept.append(_list(lst))
            lst[:] = items
        _kept.append(_dict(cache))
        cache.clear()
        cache.update(cached)
    _restore([*_always, *names], _done, _kept, modules)


def _import_restored(name: Any, globals: Any = None, locals: Any = None, fromlist: Any = (),  # noqa: A002
                     level: int = 0, *, _import: Callable[..., Any], _restore_imports: Callable[[list[str]], None],
                     _str: type[str], _type: type[type]) -> Any:
    """The test's __import__: the module (and what it relies on) as the worker had it, then the real import."""
    if _type(name) is _str:
        names, prefix = [], ""
        for part in name.split("."):
            prefix = prefix + "." + part if prefix else part
            names.append(prefix)
        _restore_imports(names)
    return _import(name, globals, locals, fromlist, level)


def guard_test(main: types.ModuleType, pristine: dict[str, Any], snapshot: Snapshot,
               _import: Callable[..., Any] = builtins.__import__, _id: Callable[[object], int] = id,
               _vars: Callable[[object], dict[str, Any]] = vars, _dict: type[dict[Any, Any]] = dict,
               _list: type[list[Any]] = list, _set: type[set[str]] = set, _type: type[type] = type,
               _str: type[str] = str, _always: tuple[str, ...] = ALWAYS_RESTORED,
               _restore: Callable[..., None] = restore,
               _private: Callable[..., types.FunctionType] = _private) -> tuple[dict[str, Any], list[object]]:
    """The test's builtins (a copy of the `pristine` ones), with an __import__ that first puts back what it
    imports as `snapshot` has it; and what was replaced, to keep until exit so that no finalizers run.

    The modules the program (`main`) holds are put back now; anything else the test reaches only by importing
    it. So what the test uses is what the worker imported, not what the program patched (math.isclose,
    sys.modules, import hooks); modules the program added are dropped, so the test imports them afresh. A
    program that touches no module costs nothing here: every module put back copies pages out of the fork.
    """
    kept: list[object] = []
    restore_imports = _private(_restore_imports, _main=main, _done=_set(), _kept=kept, _snapshot=snapshot,
                               _always=_always, _restore=_restore, _dict=_dict, _list=_list)
    names = snapshot[1]
    if held := [names[_id(v)] for k, v in _vars(main).items() if _id(v) in names and k != "__builtins__"]:
        restore_imports(held)
    test_builtins = _dict(pristine)
    test_builtins["__import__"] = _private(_import_restored, _import=_import, _restore_imports=restore_imports,
                                           _str=_str, _type=_type)
    return test_builtins, kept
