"""Equalities a reasoning step claims (`8 + 2 = 10`, chains like `42 = 6 \\cdot 7 = 43`), checked exactly.

Parsing goes through `rewards.mathgrade.expr` (no eval, size-checked numbers). A claim counts only
if both sides parse and the claim is decidable: closed expressions (no variables), or identities
that hold for every value of their variables. `x = 5` is an equation to solve, not a claim.
Trivial claims (both sides written the same) and repeats are ignored, so padding a step with
`1 = 1` earns nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from rewards.mathgrade.expr import ParseError, parse_expr

# a run of math: numbers, operators, brackets, LaTeX arithmetic commands, and lone one-letter variables
_MATH_RUN = re.compile(
    r"(?:\\(?:d?frac|tfrac|cdot|times|div|sqrt|left|right|pi)(?![a-zA-Z])"
    r"|[0-9.+\-*/×÷−·^(){}\[\]=\s]|(?<![A-Za-z\\])[a-zA-Z](?![A-Za-z]))+"
)
_UNICODE = str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_DELIMITERS = re.compile(r"\$|\\[()\[\]]")
_DECIMAL = re.compile(r"^-?\d*\.(\d+)$")
MAX_CLAIMS = 64  # per step: enough for any honest step, bounds the work per sample


@dataclass(frozen=True)
class Claim:
    lhs: str
    rhs: str
    holds: bool


def _clean(side: str) -> str:
    return side.strip().rstrip(".").strip()


def claimed_equalities(text: str) -> list[tuple[str, str]]:
    """Adjacent (lhs, rhs) pairs of every equality chain in `text`, non-trivial and without repeats."""
    text = _DELIMITERS.sub(" ", _THOUSANDS.sub("", text)).translate(_UNICODE)
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for run in _MATH_RUN.finditer(text):
        sides = [_clean(s) for s in run.group().split("=")]
        for lhs, rhs in zip(sides, sides[1:], strict=False):
            key = (re.sub(r"\s+", "", lhs), re.sub(r"\s+", "", rhs))
            if not lhs or not rhs or key[0] == key[1] or key in seen:
                continue
            seen.add(key)
            pairs.append((lhs, rhs))
    return pairs[:MAX_CLAIMS]


def _rounds_to(value: sympy.Expr, literal: str) -> bool:
    """`1/3 = 0.333`: a decimal written with d places is right if the exact value rounds to it."""
    match = _DECIMAL.match(literal.replace(" ", ""))
    if not match or not value.is_number:
        return False
    places = len(match.group(1))
    return sympy.Float(value, 30).round(places) == sympy.Float(literal.replace(" ", ""), 30).round(places)


def check(lhs: str, rhs: str) -> bool | None:
    """True or False for a decidable claim; None when a side does not parse or the claim is an equation."""
    try:
        left, right = parse_expr(lhs), parse_expr(rhs)
    except (ParseError, ValueError, TypeError, ZeroDivisionError):
        return None
    diff = sympy.simplify(left - right)
    if diff == 0:
        return True
    if diff.free_symbols:
        return None
    if _rounds_to(left, rhs) or _rounds_to(right, lhs):
        return True
    return False


def check_claims(text: str) -> list[Claim]:
    """The decidable claims of `text`, each with whether it holds."""
    claims = []
    for lhs, rhs in claimed_equalities(text):
        holds = check(lhs, rhs)
        if holds is not None:
            claims.append(Claim(lhs, rhs, holds))
    return claims
