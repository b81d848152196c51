"""The guard of script and call tests, function by function, in this process: no jail, no hook installed (an
audit hook cannot be removed), and modules and import state made up for each test."""

from __future__ import annotations

import importlib.util
import json
import types
from typing import Any

import pytest

from sandbox.errors import SandboxError, SandboxRefusal
from sandbox.worker import guard

IMPORT_STATE = ([], [], [])  # what the import event passes after name and path: sys.path, meta_path, path_hooks


def refused(event: str, *args: Any) -> bool:
    try:
        guard.audit(event, args)
    except SandboxRefusal:
        return True
    return False


def test_a_refusal_is_a_value_error_and_a_sandbox_error():
    with pytest.raises(ValueError, match="sandbox: the module 'ctypes' is not available"):
        guard.refuse("the module 'ctypes'")
    assert issubclass(SandboxRefusal, SandboxError)


@pytest.mark.parametrize("event", sorted(guard.REFUSED_EVENTS))
def test_refused_events(event):
    assert refused(event, "any", "args")


def test_everyday_events_pass():
    assert not refused("exec", compile("1", "x", "eval"))
    assert not refused("compile", b"1", "x")
    assert not refused("os.listdir", ".")
    assert not refused("object.__getattr__", object(), "__name__")
    assert not refused("object.__setattr__", guard.refuse, "__defaults__", ())  # namedtuple sets defaults


@pytest.mark.parametrize("attribute", ["tb_frame", "gi_frame", "cr_frame", "ag_frame", "__defaults__",
                                       "__kwdefaults__"])
def test_frames_and_hidden_defaults_are_not_read(attribute):
    assert refused("object.__getattr__", object(), attribute)


def test_code_is_not_rewritten_in_place():
    assert refused("object.__setattr__", guard.audit, "__code__", (lambda: None).__code__)


@pytest.mark.parametrize(("name", "path"), [
    ("ctypes", None), ("ctypes.util", None), ("_ctypes", None), ("_posixsubprocess", None),
    ("innocent", "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so"),  # a renamed copy
    ("innocent", "/tmp/.so"),  # a file without a stem
    (b"ctypes", None), (None, None),  # not a str: no way to tell what it is
])
def test_refused_imports(name, path):
    assert refused("import", name, path, *IMPORT_STATE)


def test_ordinary_imports_pass():
    assert not refused("import", "json", json.__file__, *IMPORT_STATE)
    assert not refused("import", "json.decoder", None, *IMPORT_STATE)


def test_bytecode_is_trusted_only_as_read_from_the_standard_library(tmp_path):
    pyc = importlib.util.cache_from_source(json.__file__)
    data = open(pyc, "rb").read()[16:]  # noqa: SIM115 - what the import system passes to marshal.loads
    assert pyc.startswith(guard.TRUSTED_BYTECODE)
    guard.audit("open", (pyc, "rb", 0))
    assert not refused("marshal.loads", data)
    assert refused("marshal.loads", data)  # one open, one load
    guard.audit("open", (pyc, "rb", 0))
    assert refused("marshal.loads", data[:-1] + bytes([data[-1] ^ 1]))  # not the file's bytes
    outside = tmp_path / "x.pyc"
    outside.write_bytes(b"\x00" * 16 + data)
    guard.audit("open", (str(outside), "rb", 0))
    assert refused("marshal.loads", data)  # a .pyc of the program's own making
    assert refused("marshal.loads", data)  # nothing opened at all


def test_a_private_function_holds_only_what_it_was_given():
    installed = {}
    signal = guard._private(guard._frameless_signal, _install=installed.__setitem__, _callable=callable)
    assert signal.__globals__ == {"__builtins__": {}} and signal.__defaults__ is None
    assert signal.__name__ == "frameless_signal" and signal.__doc__ == guard._frameless_signal.__doc__
    seen = []
    signal(14, lambda signum, frame: seen.append((signum, frame)))
    installed[14](14, types.SimpleNamespace(f_locals={"secret": 1}))  # what the interpreter would pass
    assert seen == [(14, None)]
    signal(15, 0)  # SIG_DFL and SIG_IGN are not wrapped
    assert installed[15] == 0


def test_no_fresh_copy_of_the_signal_or_imp_module():
    made = []
    create = guard._private(guard._create_builtin, _create=made.append, _type=type, _str=str,
                            _spec=types.SimpleNamespace, _refuse=guard.refuse)
    for name in ("_signal", "_imp"):
        with pytest.raises(SandboxRefusal, match=name):
            create(types.SimpleNamespace(name=name))
    with pytest.raises(SandboxRefusal):
        create(types.SimpleNamespace(name=type("Str", (str,), {})("math")))  # a str subclass could lie
    create(types.SimpleNamespace(name="math"))
    assert [spec.name for spec in made] == ["math"]


def loaded(self):
    return "loaded"


def fake_modules() -> dict[str, Any]:
    """A made-up sys.modules: pkg (with a submodule and a class), helper (held by pkg), and unrelated."""
    pkg, sub, helper, unrelated = (types.ModuleType(n) for n in ("pkg", "pkg.sub", "helper", "unrelated"))
    pkg.value, pkg.helper, pkg.sub = 1, helper, sub
    pkg.Loader = type("Loader", (), {"load": loaded, "__module__": "pkg"})  # a class pkg defines
    sub.value = helper.value = unrelated.value = 1
    return {"pkg": pkg, "pkg.sub": sub, "helper": helper, "unrelated": unrelated, "__main__": types.ModuleType("m")}


def patch_all(live: dict[str, Any]) -> None:
    """What a program does to the made-up modules."""
    for name in ("pkg", "pkg.sub", "helper", "unrelated"):
        live[name].value = 2
    live["pkg"].added = "program's"
    live["pkg"].Loader.load = lambda self: "forged"
    live["pkg"].Loader.extra = 1
    live["pkg"].__class__ = type("Lying", (types.ModuleType,), {})


def test_restore_puts_back_a_module_and_what_it_relies_on_only():
    live = fake_modules()
    snapshot = guard.take_snapshot(live, (), {})
    modules, _, _, entries, _, _ = snapshot
    assert "__main__" not in modules and "__main__" not in entries
    patch_all(live)
    done, kept = set(), []
    guard.restore(["pkg"], done, kept, modules)
    pkg = live["pkg"]
    assert type(pkg) is types.ModuleType and pkg.value == 1 and not hasattr(pkg, "added")
    assert pkg.sub.value == 1 and pkg.helper.value == 1  # its submodule and the module it holds
    assert pkg.Loader.load is loaded and not hasattr(pkg.Loader, "extra") and pkg.Loader().load() == "loaded"
    assert live["unrelated"].value == 2  # out of the test's reach: left as it is, no pages copied
    assert done == {"pkg", "pkg.sub", "helper"}
    assert any(isinstance(k, dict) and k.get("added") == "program's" for k in kept)  # no finalizer ran


def test_guard_test_puts_back_what_the_program_holds_and_what_the_test_imports():
    live = fake_modules()
    meta_path, cache = ["finder"], {"/lib": "importer"}
    snapshot = guard.take_snapshot(live, (meta_path,), cache)
    patch_all(live)
    main = types.ModuleType("__main__")
    main.pkg = live["pkg"]  # the program holds pkg, and never names unrelated
    live["planted"] = types.ModuleType("planted")
    meta_path.insert(0, "program's finder")
    cache["/lib"] = "program's importer"
    imported = []

    def fake_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        imported.append(name)
        return live[name]

    pristine = {"len": len, "__import__": fake_import}
    test_builtins, kept = guard.guard_test(main, pristine, snapshot, _import=fake_import)
    assert live["pkg"].value == 1 and live["helper"].value == 1  # put back before the test runs
    assert live["unrelated"].value == 2  # not yet: the test has not imported it
    assert "planted" not in live and live["__main__"] is main  # sys.modules as the worker had it, less __main__
    assert meta_path == ["finder"] and cache == {"/lib": "importer"}
    assert test_builtins is not pristine and test_builtins["len"] is len
    test_import = test_builtins["__import__"]
    assert test_import.__globals__ == {"__builtins__": {}} and test_import.__defaults__ is None
    assert test_import("unrelated", None, None, (), 0).value == 1 and imported == ["unrelated"]  # as `import` calls it
    assert kept  # what was replaced lives on until the child exits


def test_a_program_that_holds_no_module_costs_no_restore():
    live = fake_modules()
    snapshot = guard.take_snapshot(live, (), {})
    patch_all(live)
    main = types.ModuleType("__main__")
    main.answer = 42
    guard.guard_test(main, {}, snapshot, _import=lambda *args: None)
    assert all(live[name].value == 2 for name in ("pkg", "pkg.sub", "helper", "unrelated"))
