"""A safe arithmetic formula over named scores: numbers, names, + - * /, powers, functions, parentheses.

`^` is a power, as in OpenAI's calculate_output and in mathematics: it binds tighter than * and /, and
from the right (`2*a^2` is 2*(a^2)); `**` is refused, to keep one spelling. The functions are min and max (any number of
arguments) and abs, floor, ceil, exp, sqrt, log (one). A value outside a function's domain, or an
overflow, is NaN or inf rather than an exception: a caller checks the result is finite.

Parsed with `ast.parse(mode="eval")` and checked against a whitelist of node types; evaluated by
walking that tree. Nothing is ever compiled or eval'd.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

MAX_CHARS = 2000
MAX_DEPTH = 32
MAX_LITERAL = 1e6


def _power(base: float, exponent: float) -> float:
    """base ** exponent, NaN where that is complex or undefined, inf where it overflows."""
    try:
        value = base ** exponent
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.nan
    return value if isinstance(value, float | int) else math.nan


def _total(fn: Callable[[float], float]) -> Callable[[list[float]], float]:
    """`fn` of one argument, NaN outside its domain or on overflow."""
    def apply(args: list[float]) -> float:
        try:
            return float(fn(args[0]))
        except (ValueError, OverflowError):
            return math.nan
    return apply


UNARY_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs, "floor": math.floor, "ceil": math.ceil, "exp": math.exp, "sqrt": math.sqrt, "log": math.log}
FUNCTIONS: dict[str, Callable[[list[float]], float]] = {
    "min": min, "max": max, **{name: _total(fn) for name, fn in UNARY_FUNCTIONS.items()}}
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


@dataclass(frozen=True)
class Formula:
    """A validated formula and the names it reads."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The formula's value; raises ZeroDivisionError on division by zero."""
        return _evaluate(self.tree, values)


def parse_formula(text: str, allowed: Collection[str]) -> Formula:
    """Parse and validate `text`; raises ValueError naming what is not allowed."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"formula longer than {MAX_CHARS} characters")
    if "**" in text:
        raise ValueError("not allowed in a formula: '**' (a power is written ^)")
    source = text.strip().replace("^", "**")  # Python's power has the precedence and associativity of ^ in maths
    try:
        tree = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"formula does not parse: {exc}") from exc
    names: set[str] = set()
    _check(tree, source, allowed, names, depth=0)
    return Formula(text=text, tree=tree, names=frozenset(names))


def _check(node: ast.AST, source: str, allowed: Collection[str], names: set[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"formula nested deeper than {MAX_DEPTH}")
    match node:
        case ast.Constant(value=int() | float() as value) if type(value) in (int, float):
            if abs(value) > MAX_LITERAL or not math.isfinite(value):  # abs first: huge ints are exact
                raise ValueError(f"number {value!r} is outside [-{MAX_LITERAL:g}, {MAX_LITERAL:g}]")
        case ast.Name(id=name, ctx=ast.Load()):
            if name not in allowed:
                raise ValueError(f"unknown name {name!r} in formula; graders are {sorted(allowed)}")
            names.add(name)
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            _check(left, source, allowed, names, depth + 1)
            _check(right, source, allowed, names, depth + 1)
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            _check(operand, source, allowed, names, depth + 1)
        case ast.Call(func=ast.Name(id=func), args=args, keywords=[]) if func in FUNCTIONS and args and (
                len(args) == 1 or func not in UNARY_FUNCTIONS):
            for arg in args:
                _check(arg, source, allowed, names, depth + 1)
        case _:
            segment = ast.get_source_segment(source, node) or type(node).__name__
            raise ValueError(f"not allowed in a formula: {segment[:60]!r}")


def _evaluate(node: ast.expr, values: Mapping[str, float]) -> float:
    match node:
        case ast.Constant(value=int() | float() as value):
            return float(value)
        case ast.Name(id=name):
            return values[name]
        case ast.BinOp(left=left, op=op, right=right):
            return _BINARY[type(op)](_evaluate(left, values), _evaluate(right, values))
        case ast.UnaryOp(op=op, operand=operand):
            return _UNARY[type(op)](_evaluate(operand, values))
        case ast.Call(func=ast.Name(id=func), args=args):
            return FUNCTIONS[func]([_evaluate(arg, values) for arg in args])
    raise AssertionError(f"unvalidated node {type(node).__name__}")
