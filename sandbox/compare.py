"""How a test's expected output or value is compared with what the program produced."""

from __future__ import annotations

import json
import math
from typing import Any


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip().splitlines()]


def _close(a: float, b: float, tolerance: float) -> bool:
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance) or (math.isnan(a) and math.isnan(b))


def _float_tokens(actual: str, expected: str, tolerance: float) -> bool:
    got, want = actual.split(), expected.split()
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        try:
            if not _close(float(g), float(w), tolerance):
                return False
        except ValueError:
            if g != w:
                return False
    return True


def stdout_matches(actual: str, expected: str, mode: str, tolerance: float) -> bool:
    """exact: byte for byte; whitespace: trailing spaces and blank lines ignored; float: token-wise."""
    if mode == "exact":
        return actual == expected
    if mode == "float":
        return _float_tokens(actual, expected, tolerance)
    return _lines(actual) == _lines(expected)


def values_equal(actual: Any, expected: Any, tolerance: float) -> bool:
    """Deep equality of JSON values; bools are not numbers; ints and floats compare with a tolerance."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return actual == expected or _close(float(actual), float(expected), tolerance)
    if isinstance(expected, list | tuple) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            values_equal(a, e, tolerance) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            values_equal(actual[k], expected[k], tolerance) for k in expected)
    return type(actual) is type(expected) and actual == expected


def parse_value(text: str) -> Any:
    """The JSON the call harness wrote (NaN and Infinity allowed)."""
    return json.loads(text)
