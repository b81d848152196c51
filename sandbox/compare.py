"""How a test's expected output or value is compared with what the program produced.

Integers compare exactly and floats with the test's tolerance, and which one applies is decided by
the expected side: a `call` test expecting `1000000007` needs exactly that value, and an `io` test in
`float` mode whose expected token is an integer literal (`42`) needs a token of exactly that value
(`42`, `42.0`). Nothing a program returns or prints makes a comparison raise: a value that cannot be
compared (an int too large for a float, nesting too deep to parse) is a wrong answer.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

_INT_LITERAL = re.compile(r"[+-]?\d+")
_DECIMAL_LITERAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip().splitlines()]


def _close(a: float, b: float, tolerance: float) -> bool:
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance) or (math.isnan(a) and math.isnan(b))


def _same_integer(got: str, want: str) -> bool:
    """`got` is a decimal literal of exactly the integer `want` (no float rounding, any size)."""
    if not _DECIMAL_LITERAL.fullmatch(got):
        return False
    try:
        return Decimal(got) == Decimal(want)
    except ArithmeticError:  # an exponent beyond what Decimal represents: not this integer
        return False


def _token_matches(got: str, want: str, tolerance: float) -> bool:
    if _INT_LITERAL.fullmatch(want):
        return _same_integer(got, want)
    try:
        return _close(float(got), float(want), tolerance)
    except ValueError:
        return got == want


def stdout_matches(actual: str, expected: str, mode: str, tolerance: float) -> bool:
    """exact: byte for byte; whitespace: trailing spaces and blank lines ignored; float: token-wise
    (integer tokens of the expected output exactly, other numbers with the tolerance)."""
    if mode == "exact":
        return actual == expected
    if mode == "float":
        got, want = actual.split(), expected.split()
        return len(got) == len(want) and all(_token_matches(g, w, tolerance) for g, w in zip(got, want, strict=True))
    return _lines(actual) == _lines(expected)


def _numbers_equal(actual: int | float, expected: int | float, tolerance: float) -> bool:
    """Exact unless `expected` is a float; then within the tolerance (an int beyond float range is not)."""
    if actual == expected:  # Python compares int with float exactly, without converting either
        return True
    if not isinstance(expected, float):
        return False
    try:
        return _close(float(actual), expected, tolerance)
    except OverflowError:
        return False


def values_equal(actual: Any, expected: Any, tolerance: float) -> bool:
    """Deep equality of JSON values: bools are not numbers, ints compare exactly, floats with a tolerance.

    Iterative, so no depth of nesting can exhaust the stack."""
    pending = [(actual, expected)]
    while pending:
        got, want = pending.pop()
        if isinstance(want, bool) or isinstance(got, bool):
            if type(got) is not type(want) or got != want:
                return False
        elif isinstance(want, int | float) and isinstance(got, int | float):
            if not _numbers_equal(got, want, tolerance):
                return False
        elif isinstance(want, list | tuple) and isinstance(got, list):
            if len(got) != len(want):
                return False
            pending.extend(zip(got, want, strict=True))
        elif isinstance(want, dict) and isinstance(got, dict):
            if got.keys() != want.keys():
                return False
            pending.extend((got[k], want[k]) for k in want)
        elif type(got) is not type(want) or got != want:
            return False
    return True


def parse_value(text: str) -> Any:
    """The JSON the call harness wrote (NaN and Infinity allowed); ValueError for anything unreadable,
    including nesting too deep to parse and integers of more digits than Python converts from text."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("value nested too deeply to read") from exc
