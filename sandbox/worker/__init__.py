"""The warm worker that lives inside the jail: it forks one child per run, so a run pays no interpreter start-up.

The jail holds none of the service's files, so at run time the worker is one standard-library program passed to
`python -I -S -c` (see sandbox.jail): `program()` joins its parts, in order, into one namespace.

- sandbox/errors.py: SandboxRefusal, what a program under test gets for reaching past its own objects;
- guard.py: the audit hook and the snapshot and restore of modules that script and call tests run under;
- child.py: one run's forked child, from its set-up to the program and its test;
- supervisor.py: the worker's loop, its accounting of each run, and `main()`.

Each part is also an ordinary module, imported and tested without a jail; the program drops their imports of
each other (and `from __future__`, which it states once at its top) and ends by calling `main()`.

Protocol on fds 0 (requests) and 1 (replies), both moved out of the way at start: 4-byte big-endian length +
JSON. Requests: {"op": "run", ...} -> result (with "dirty": the work dir is not empty); {"op": "stash", "names"}
-> {} (keeps those files, e.g. a compiled program, in memory); {"op": "reset", "restore"?} -> {"clean": bool}
(empties the work dir; with "restore", puts the stashed files back, else forgets them).
"""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).parent
PARTS = (HERE.parent / "errors.py", HERE / "guard.py", HERE / "child.py", HERE / "supervisor.py")
# The harness's own builtins, a private copy, made before any of its functions: a function keeps the builtins of
# its globals as they were when it was made, so every function of the program looks names up here, and C code
# that imports while a harness frame is on top (a traceback's source lines) calls this __import__, not one a
# program put into the builtins module, which would be handed the harness's globals.
PROLOGUE = "from __future__ import annotations\n\nimport builtins\n\n__builtins__ = dict(vars(builtins))\n"


def _own_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """The statements of a part that import another part (or __future__): one namespace needs none of them."""
    return [node for node in tree.body if isinstance(node, ast.ImportFrom)
            and (node.level or node.module == "__future__" or (node.module or "").split(".")[0] == "sandbox")]


def program() -> str:
    """The worker's source: the prologue, the parts without their imports of each other, then `main()`."""
    pieces = [PROLOGUE]
    for path in PARTS:
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        for node in reversed(_own_imports(ast.parse(text, str(path)))):
            del lines[node.lineno - 1:node.end_lineno or node.lineno]
        pieces.append("".join(lines))
    pieces.append("main()\n")
    return "\n\n".join(pieces)
