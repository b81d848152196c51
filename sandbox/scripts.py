"""What the service reads from a Python script test before running it (with `ast`, outside the jail).

A script test made only of value checks on calls with literal arguments (`assert f(1, [2]) == 3`, MBPP's
shape) is run as calls: the program returns each value to the harness, which serializes its data, and the
check is made here with Python's own `==`, `math.isclose` or `abs`, on plain data. So an object whose
`__eq__` always says yes earns nothing, where in the program's process it would pass the same `assert`.
Any other script keeps its meaning and runs as written.

For those, the service names the standard modules the test uses as `name.attr` without importing them itself
(relying on the program's `import math`): the harness hands the test the real module where the program's name
holds something else.
"""

from __future__ import annotations

import ast
import builtins
import json
import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_UNSAFE_LITERALS = (bytes, complex, type(...))  # values the harness does not serialize, or literal_eval quirks


@dataclass(frozen=True)
class Check:
    """One `assert`: call `fn_name` with the literal arguments, then test the returned value."""

    fn_name: str
    args: str  # source of a tuple of literals
    kwargs: str  # source of a dict of literals
    kind: str  # eq, ne, is, truthy, falsy, isclose, below, at_most
    expected: Any = None
    rel_tol: float = 1e-9
    abs_tol: float = 0.0
    source: str = ""  # the assert statement, for the verdict's reason

    def holds(self, actual: Any) -> bool:
        """The assert's condition on the returned value (plain data); anything it raises is a failure."""
        try:
            if self.kind == "eq":
                return bool(actual == self.expected)
            if self.kind == "ne":
                return bool(actual != self.expected)
            if self.kind == "is":
                return actual is self.expected
            if self.kind in ("truthy", "falsy"):
                return bool(actual) == (self.kind == "truthy")
            if self.kind == "isclose":
                return math.isclose(actual, self.expected, rel_tol=self.rel_tol, abs_tol=self.abs_tol)
            difference = abs(actual - self.expected)
            return bool(difference < self.abs_tol if self.kind == "below" else difference <= self.abs_tol)
        except Exception:  # noqa: BLE001 - e.g. comparing a str with an int: the assert would have failed
            return False


@dataclass(frozen=True)
class Analysis:
    checks: tuple[Check, ...] | None  # the script as calls, or None: run it as written
    modules: tuple[str, ...]  # standard modules the test reaches as `name.attr` without binding the name


def _literal(node: ast.expr) -> tuple[bool, Any]:
    """(True, value) for a literal made of plain data (no calls such as set(), no bytes or complex)."""
    if any(isinstance(n, ast.Call) for n in ast.walk(node)):
        return False, None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _UNSAFE_LITERALS):
            return False, None
        if isinstance(item, dict):
            pending.extend(item.items())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
    return True, value


def _call(node: ast.expr) -> tuple[str, str, str] | None:
    """(name, args source, kwargs source) of `name(literal, ..., key=literal)` calling a program's function."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or hasattr(builtins, node.func.id):
        return None
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return None
    if not all(_literal(a)[0] for a in [*node.args, *(k.value for k in node.keywords)]):
        return None
    args = "(" + "".join(ast.unparse(a) + ", " for a in node.args) + ")"
    kwargs = "{" + ", ".join(f"{k.arg!r}: {ast.unparse(k.value)}" for k in node.keywords) + "}"
    return node.func.id, args, kwargs


def _check(stmt: ast.stmt) -> Check | None:
    """The Check an `assert` statement makes, when it has one of the recognised shapes."""
    if not isinstance(stmt, ast.Assert) or stmt.msg is not None and not isinstance(stmt.msg, ast.Constant):
        return None
    test, source = stmt.test, ast.unparse(stmt)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and (call := _call(test.operand)):
        return Check(*call, kind="falsy", source=source)
    if call := _call(test):
        return Check(*call, kind="truthy", source=source)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, (ast.Eq, ast.NotEq)):
            for called, other in ((left, right), (right, left)):
                call, (is_literal, expected) = _call(called), _literal(other)
                if call and is_literal:
                    return Check(*call, kind="eq" if isinstance(op, ast.Eq) else "ne", expected=expected,
                                 source=source)
        if isinstance(op, ast.Is) and isinstance(right, ast.Constant) and right.value in (True, False, None) \
                and (call := _call(left)):
            return Check(*call, kind="is", expected=right.value, source=source)
        if isinstance(op, (ast.Lt, ast.LtE)):
            return _within(left, right, "below" if isinstance(op, ast.Lt) else "at_most", source)
    if isinstance(test, ast.Call) and ast.unparse(test.func) == "math.isclose" and len(test.args) == 2:
        return _isclose(test, source)
    return None


def _within(left: ast.expr, right: ast.expr, kind: str, source: str) -> Check | None:
    """`abs(f(..) - lit) < tol` (or `abs(lit - f(..))`, `<=`)."""
    tolerant, tolerance = _literal(right)
    if not (tolerant and isinstance(tolerance, (int, float)) and isinstance(left, ast.Call)
            and isinstance(left.func, ast.Name) and left.func.id == "abs" and len(left.args) == 1
            and not left.keywords and isinstance(left.args[0], ast.BinOp) and isinstance(left.args[0].op, ast.Sub)):
        return None
    difference = left.args[0]
    for called, other in ((difference.left, difference.right), (difference.right, difference.left)):
        call, (is_literal, expected) = _call(called), _literal(other)
        if call and is_literal and isinstance(expected, (int, float)):
            return Check(*call, kind=kind, expected=expected, abs_tol=tolerance, source=source)
    return None


def _isclose(test: ast.Call, source: str) -> Check | None:
    """`math.isclose(f(..), lit, rel_tol=.., abs_tol=..)` with literal tolerances."""
    tolerances: dict[str, Any] = {}  # rel_tol and abs_tol, each an int or float literal
    for keyword in test.keywords:
        is_literal, value = _literal(keyword.value)
        if keyword.arg not in ("rel_tol", "abs_tol") or not is_literal or not isinstance(value, (int, float)):
            return None
        tolerances[keyword.arg] = value
    for called, other in ((test.args[0], test.args[1]), (test.args[1], test.args[0])):
        call, (is_literal, expected) = _call(called), _literal(other)
        if call and is_literal and isinstance(expected, (int, float)):
            return Check(*call, kind="isclose", expected=expected, source=source, **tolerances)
    return None


def _modules(tree: ast.Module) -> tuple[str, ...]:
    """Standard module names the test uses as `name.attr` but never binds itself."""
    used, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and isinstance(node.value.ctx, ast.Load):
            used.add(node.value.id)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).partition(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return tuple(sorted((used - bound) & sys.stdlib_module_names))


CACHED_CHARS = 20_000  # tests up to this size are remembered (the same tests come with every sample)


def analyse(code: str) -> Analysis:
    """How to run a Python script test: as calls when every statement is a recognised check."""
    return _analyse_cached(code) if len(code) <= CACHED_CHARS else _analyse(code)


@lru_cache(maxsize=1024)
def _analyse_cached(code: str) -> Analysis:
    return _analyse(code)


def _analyse(code: str) -> Analysis:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return Analysis(None, ())
    checks = [_check(stmt) for stmt in tree.body]
    runnable = tuple(checks) if checks and all(checks) else None
    return Analysis(runnable, () if runnable else _modules(tree))  # type: ignore[arg-type]


def _untag(node: Any) -> Any:
    """A value from the harness's typed JSON (see worker._encode): tuples, sets and dicts with any keys back."""
    if isinstance(node, list):
        return [_untag(item) for item in node]
    if isinstance(node, dict):
        ((tag, items),) = node.items()
        if tag == "d":
            return {_untag(key): _untag(value) for key, value in items}
        return {"t": tuple, "s": set, "f": frozenset}[tag](_untag(item) for item in items)
    return node


def decode(text: str) -> list[Any]:
    """The values the harness returned for a script run as calls; ValueError when they cannot be read."""
    try:
        values = _untag(json.loads(text))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(f"the returned values cannot be read: {type(exc).__name__}") from exc
    if not isinstance(values, list):
        raise ValueError("the returned values cannot be read")
    return values
