"""The worker's parts joined into the one program the jail runs: nothing lost, shadowed or exposed on the way."""

from __future__ import annotations

import ast
import builtins
import types
from collections import Counter

from sandbox import worker
from sandbox.jail import WORKER_SOURCE


def bound_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The top-level names a part defines (def, class, assignment), and those it binds by importing from
    outside the program."""
    defined: set[str] = set()
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import) or isinstance(node, ast.ImportFrom) and node.module != "__future__" \
                and not (node.module or "").startswith("sandbox"):  # a part's import of another: not in the program
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
    return defined, imported


def definitions() -> dict[str, object]:
    """The program's namespace after everything but its last statement, main() (which starts serving)."""
    tree = ast.parse(WORKER_SOURCE)
    last = tree.body.pop()
    assert ast.unparse(last) == "main()"
    namespace: dict[str, object] = {"__name__": "worker_program"}
    exec(compile(tree, "worker", "exec"), namespace)  # noqa: S102 - our own program, not a program under test
    return namespace


def test_the_program_is_its_parts_without_their_imports_of_each_other():
    source = worker.program()
    assert source == WORKER_SOURCE
    tree = ast.parse(source)
    assert ast.unparse(tree.body[0]) == "from __future__ import annotations"
    assert ast.unparse(tree.body[2]) == "__builtins__ = dict(vars(builtins))"  # before any function is made
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("sandbox"), ast.unparse(node)
            assert node.module != "__future__" or node is tree.body[0]
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("sandbox") for a in node.names), ast.unparse(node)
    for path in worker.PARTS:  # every definition of every part is in it
        defined, _ = bound_names(ast.parse(path.read_text()))
        assert defined <= bound_names(tree)[0], path


def test_no_part_rebinds_a_name_another_part_defines():
    """One namespace at run time: a second `refuse` or `encode` would silently replace the first."""
    parts = {path.name: bound_names(ast.parse(path.read_text())) for path in worker.PARTS}
    counts = Counter(name for defined, _ in parts.values() for name in defined)
    assert [name for name, n in counts.items() if n > 1] == []
    for part, (_, imported) in parts.items():
        for other, (defined, _) in parts.items():
            assert other == part or not imported & defined, (part, other, imported & defined)


def test_every_function_of_the_program_uses_its_private_builtins():
    namespace = definitions()
    private = namespace["__builtins__"]
    assert isinstance(private, dict) and private is not vars(builtins)
    functions = [v for v in namespace.values()
                 if isinstance(v, types.FunctionType) and v.__module__ == "worker_program"]
    assert len(functions) > 30
    assert all(f.__builtins__ is private for f in functions), [f for f in functions if f.__builtins__ is not private]


def test_no_class_of_the_program_leads_to_its_globals():
    """A program finds every class through object.__subclasses__() (no audit event); a method of a harness
    class would hand it the harness's globals, and with them the test's builtins and the value encoder."""
    namespace = definitions()
    classes = [v for v in namespace.values() if isinstance(v, type) and v.__module__ == "worker_program"]
    assert {"Setting", "WorkerState", "SandboxRefusal"} <= {c.__name__ for c in classes}
    leaks = []
    for cls in classes:
        for name, value in vars(cls).items():
            for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
                if getattr(fn, "__globals__", None) is namespace:
                    leaks.append(f"{cls.__name__}.{name}")
    assert leaks == []


def test_the_program_fits_in_one_command_line_argument():
    """It is passed as `python -c <program>`, and Linux takes at most 128 KiB in one argument (MAX_ARG_STRLEN):
    past that no worker starts at all."""
    assert len(WORKER_SOURCE.encode()) < 128 * 1024 * 3 // 4  # room to grow, noticed well before the limit
