"""Answer text -> a structured value: number, expression, tuple/set/list, interval, union, matrix,
relation (equation, inequality, chain), multiple-choice letter, or plain text.

Exact numbers take a regex fast path into `Fraction` (no sympy); everything else goes through our
own expression parser (`expr.py`), never through `sympify`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import sympy

from rewards.mathgrade.expr import ParseError, TooLarge, parse_expr
from rewards.mathgrade.normalize import normalize, squash

MAX_ITEMS = 64
MAX_SCI_EXPONENT = 4_000


@dataclass(frozen=True)
class Num:
    """An exact rational number (integers, decimals, fractions, scientific notation)."""

    value: Fraction
    percent: bool = False


@dataclass(frozen=True)
class Sym:
    """A sympy expression: radicals, constants, polynomials, complex numbers, infinities."""

    expr: sympy.Expr


@dataclass(frozen=True)
class Seq:
    """Several values: `tuple` is ordered; `set` and bare `list` (`1, 2` or `1 or 2`) are not."""

    kind: Literal["tuple", "set", "list"]
    items: tuple[Value, ...]


@dataclass(frozen=True)
class Interval:
    lo: Value
    hi: Value
    lo_open: bool
    hi_open: bool


@dataclass(frozen=True)
class Union:
    parts: tuple[Value, ...]


@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[Value, ...], ...]


@dataclass(frozen=True)
class Relation:
    """`a op b [op c]`: equations, inequalities and chains; ops are `=`, `<`, `<=`, `>`, `>=`, `!=`."""

    parts: tuple[Value, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Choice:
    letter: str


@dataclass(frozen=True)
class Text:
    text: str


Value = Num | Sym | Seq | Interval | Union | Matrix | Relation | Choice | Text

_INT = r"\d{1,3}(?:,\d{3})+|\d+"
_NUMBER = re.compile(
    rf"^([-+])?\s*((?:{_INT})(?:\.\d*)?|\.\d+)"
    r"(?:\s*[eE]\s*([-+]?\d+)|\s*(?:\\times|\\cdot|\*|×)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?)?$"
)
_FRACTION = re.compile(
    r"^([-+])?\s*(?:(\d+)\s*)?\\frac\s*(?:\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|(\d)\s*(\d))$"  # `3\frac{1}{2}`, `3\frac12`
)
_REPEATING = re.compile(r"^([-+])?\s*(\d*)\.(\d*)\s*\\overline\s*\{\s*(\d{1,50})\s*\}$")  # `0.1\overline{6}`
_REALS = re.compile(r"^\\mathbb\s*\{?\s*R\s*\}?$|^(?i:all\s+real\s+numbers)$")
_SLASH = re.compile(r"^([-+])?\s*(\d+)\s*/\s*(\d+)$")
_CHOICE = re.compile(r"^(?:(?:option|choice)\s*)?\(?\s*([A-J])\s*\)?$", re.IGNORECASE)
_CHOICE_LEAD = re.compile(r"^(?:(?i:option|choice)\s*)?\(\s*([A-Ja-j])\s*\)|^(?i:option|choice)\s+([A-Ja-j])\b"
                          r"|^([A-J])(?:$|[:)]|\.(?![A-Za-z])|\s+(?![a-z'’]))")  # not `I don't know`, `A lot`, `E.g.`
# another letter after the first: `(A) or (B)`, `A B`, `B and option C`; a lone `I` is a Roman numeral (`(B) I and II`)
_ANOTHER_CHOICE = re.compile(r"\(\s*[A-Ja-j]\s*\)|(?i:option|choice)\s+[A-Ja-j]\b|(?<![A-Za-z\\])[A-HJ](?![A-Za-z])")
_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$", re.DOTALL)
_MEMBER = re.compile(r"^[a-zA-Z]\s*\\in\s*")
_EQ_PREFIX = re.compile(r"^([a-zA-Z](?:_\{?\w+\}?)?)\s*=(?!=)")
_WORD_SEP = re.compile(r"\s*,?\s*\b(?:or|and)\b\s*|,|;")
_COMMA = re.compile(r",|;")
_CUP = re.compile(r"\\cup|∪")
_PM = re.compile(r"\\pm|\\mp|±")
_RELATION = re.compile(r"\\leqslant|\\geqslant|\\leq|\\geq|\\neq|\\le|\\ge|\\ne|<=|>=|!=|≤|≥|≠|<|>|=")
_REL_OPS = {
    "\\leqslant": "<=", "\\leq": "<=", "\\le": "<=", "≤": "<=", "<=": "<=", "\\geqslant": ">=", "\\geq": ">=",
    "\\ge": ">=", "≥": ">=", ">=": ">=", "\\neq": "!=", "\\ne": "!=", "≠": "!=", "!=": "!=", "<": "<",
    ">": ">", "=": "=",
}
_OPEN, _CLOSE = "([{", ")]}"


def _depths(text: str) -> list[int]:
    depth, out = 0, []
    for ch in text:
        if ch in _CLOSE:
            depth -= 1
        out.append(depth)
        if ch in _OPEN:
            depth += 1
    return out


def split_top(text: str, pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """Split at matches of `pattern` outside brackets; returns (pieces, separators)."""
    depths = None
    pieces, seps, last = [], [], 0
    for match in pattern.finditer(text):
        if match.end() == match.start():
            continue
        depths = depths or _depths(text)
        if depths[match.start()] != 0:
            continue
        if match.group(0).startswith("\\") and match.end() < len(text) and text[match.end()].isalpha():
            continue  # `\le` inside `\left`, `\ne` inside `\neg`
        pieces.append(text[last : match.start()])
        seps.append(match.group(0))
        last = match.end()
    pieces.append(text[last:])
    return pieces, seps


def _closing_index(text: str) -> int | None:
    """Index of the bracket that closes the one opening at 0 (any bracket kind closes any)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return None


def _signed(sign: str | None, value: Fraction) -> Fraction:
    return -value if sign == "-" else value


def parse_number(text: str) -> Fraction | None:
    """Exact value of a plain number (`1,234.5`, `1.5e3`, `1.5\\times10^{3}`, `2\\frac{1}{2}`, `3/4`)."""
    match = _NUMBER.match(text)
    if match:
        sign, digits, exp1, exp2 = match.groups()
        value = Fraction(digits.replace(",", "").rstrip(".") or "0")
        exponent = int(exp1 or exp2 or 0)
        if abs(exponent) > MAX_SCI_EXPONENT:
            raise TooLarge("exponent too large")
        return _signed(sign, value * Fraction(10) ** exponent)
    match = _REPEATING.match(text)
    if match:
        sign, whole, fixed, period = match.groups()
        head = Fraction(int((whole or "0") + fixed), 10 ** len(fixed))
        return _signed(sign, head + Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed)))
    match = _FRACTION.match(text)
    if match:
        sign, whole, num, den, num_digit, den_digit = match.groups()
        num, den = num or num_digit, den or den_digit
    elif match := _SLASH.match(text):
        sign, num, den = match.groups()
        whole = None
    if match:
        if int(den) == 0:
            raise ParseError("division by zero")
        return _signed(sign, int(whole or 0) + Fraction(int(num), int(den)))
    return None


def parse_choice(text: str) -> Choice | None:
    """A multiple-choice letter at the start of an answer: `(C)`, `C`, `(c) 42`, `option C`, `C: 42`; one letter only."""
    text = normalize(text).text
    match = _CHOICE_LEAD.match(text)
    if match is None or _ANOTHER_CHOICE.search(text, match.end()):
        return None
    return Choice(next(g for g in match.groups() if g).upper())


def _scalar(text: str, percent: bool = False) -> Value:
    number = parse_number(text)
    if number is not None:
        return Num(number, percent)
    expr = parse_expr(text)
    if expr.is_Rational:
        return Num(Fraction(int(expr.p), int(expr.q)), percent)
    return Sym(expr)


def _items(text: str, depth: int) -> tuple[Value, ...]:
    pieces, _ = split_top(text, _COMMA)
    if len(pieces) > MAX_ITEMS:
        raise ParseError("too many items")
    return tuple(_value(p.strip(), depth + 1) for p in pieces)


def _bracketed(text: str, depth: int) -> Value | None:
    """`{..}` sets, `(..)` tuples, `[a, b)` intervals; None when the brackets do not wrap it all."""
    if text.startswith("\\{") and text.endswith("\\}"):
        inner = text[2:-2].strip()
        return Seq("set", _items(inner, depth) if inner else ())
    if text[:1] == "{" and _closing_index(text) == len(text) - 1 and len(split_top(text[1:-1], _COMMA)[0]) > 1:
        return Seq("set", _items(text[1:-1].strip(), depth))  # `{1, 2, 3}`: a set whose backslashes were lost
    if not text or text[0] not in "([" or text[-1] not in ")]" or _closing_index(text) != len(text) - 1:
        return None
    inner = text[1:-1].strip()
    pieces, _ = split_top(inner, _COMMA)
    if len(pieces) == 1:
        return None  # just grouping: `(x+1)`
    items = _items(inner, depth)
    if len(items) == 2 and (text[0] == "[" or text[-1] == "]"):
        return Interval(items[0], items[1], text[0] == "(", text[-1] == ")")
    return Seq("tuple", items)


def _unbracketed_matrix(text: str) -> str:
    """`\\left[\\begin{array}{cc}..\\end{array}\\right]` (brackets already bare) -> the environment alone."""
    if text[:1] in "([" and text[-1:] in ")]" and text[1:].lstrip().startswith("\\begin{"):
        return text[1:-1].strip()
    return text


def _matrix(body: str, depth: int) -> Matrix:
    rows = [r for r in re.split(r"\\\\", body) if r.strip() and not r.strip().startswith("\\hline")]
    if not rows or len(rows) > MAX_ITEMS:
        raise ParseError("bad matrix")
    cells = tuple(tuple(_value(c.strip(), depth + 1) for c in row.split("&")) for row in rows)
    if len({len(r) for r in cells}) != 1:
        raise ParseError("ragged matrix")
    return Matrix(cells)


def _plus_minus(text: str, seps: list[str], pieces: list[str], depth: int) -> Value:
    if len(seps) != 1:
        raise ParseError("more than one \\pm")
    left, right = pieces[0].strip(), pieces[1].strip()
    if not left:
        return Seq("set", (_value(right, depth + 1), _value(f"-({right})", depth + 1)))
    return Seq("set", (_value(f"{left}+({right})", depth + 1), _value(f"{left}-({right})", depth + 1)))


def _value(text: str, depth: int = 0, percent: bool = False) -> Value:
    if depth > 8:
        raise ParseError("nesting too deep")
    if not text:
        raise ParseError("empty")
    choice = _CHOICE.match(text)
    if choice and (text.isupper() or text.startswith(("(", "option", "choice"))):
        return Choice(choice.group(1).upper())
    number = parse_number(text)
    if number is not None:
        return Num(number, percent)
    matrix = _MATRIX.match(_unbracketed_matrix(text))
    if matrix:
        return _matrix(matrix.group(2), depth)
    if _REALS.match(text):
        return Interval(Sym(-sympy.oo), Sym(sympy.oo), True, True)
    text = _MEMBER.sub("", text)
    steps: list[Callable[[], Value | None]] = [
        lambda: _equation_prefix(text, depth),
        lambda: _split_value(text, _WORD_SEP, depth, _listed(text)),
        lambda: _bracketed(text, depth),
        lambda: _split_value(text, _CUP, depth, Union),
        lambda: _pm_value(text, depth),
        lambda: _relation(text, depth),
    ]
    for step in steps:
        value = step()
        if value is not None:
            return value
    return _scalar(text, percent)


def _listed(text: str) -> Callable[[tuple[Value, ...]], Value]:
    """Items said with "or" are alternatives (a set, never an ordered tuple); others a plain list."""
    kind: Literal["set", "list"] = "set" if re.search(r"\bor\b", text) else "list"
    return lambda items: Seq(kind, items)


def _split_value(
    text: str, pattern: re.Pattern[str], depth: int, build: Callable[[tuple[Value, ...]], Value]
) -> Value | None:
    pieces, _ = split_top(text, pattern)
    if len(pieces) == 1:
        return None
    if len(pieces) > MAX_ITEMS:
        raise ParseError("too many items")
    return build(tuple(_value(p.strip(), depth + 1) for p in pieces))


def _equation_prefix(text: str, depth: int) -> Value | None:
    """`x = 1, 2` and `x = \\{1, 2\\}`: one variable equal to a (possibly multi-valued) right side."""
    match = _EQ_PREFIX.match(text)
    if match is None:
        return None
    rest = text[match.end() :].strip()
    if split_top(rest, _RELATION)[1]:
        return None
    return Relation((Sym(parse_expr(match.group(1))), _value(rest, depth + 1)), ("=",))


def _pm_value(text: str, depth: int) -> Value | None:
    pieces, seps = split_top(text, _PM)
    return _plus_minus(text, seps, pieces, depth) if seps else None


def _relation(text: str, depth: int) -> Value | None:
    pieces, seps = split_top(text, _RELATION)
    if not seps:
        return None
    return Relation(tuple(_value(p.strip(), depth + 1) for p in pieces), tuple(_REL_OPS[s] for s in seps))


def parse_answer(answer: str) -> Value:
    """Structured value of an answer string; unparseable text becomes `Text` (TooLarge propagates)."""
    norm = normalize(answer)
    try:
        return _value(norm.text, percent=norm.percent)
    except TooLarge:
        raise
    except (ParseError, RecursionError, ValueError, TypeError, ZeroDivisionError) as exc:
        if not norm.text:
            raise ParseError("empty answer") from exc
        return Text(squash(norm.text).lower())


def show(value: Value) -> str:
    """Short, always-printable form of a value for `details`."""
    try:
        text = repr(value)
    except ValueError:  # integers too long to print
        text = f"<{type(value).__name__} too long to print>"
    return text if len(text) <= 300 else text[:297] + "..."
