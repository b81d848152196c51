"""Equalities a reasoning step claims (`8 + 2 = 10`, chains like `42 = 6 \\cdot 7 = 43`), checked exactly.

Reading. Steps are normalised first: `$`/`\\(`/`\\[` delimiters and currency signs go, `==` is `=`,
an en dash is a minus, `6 x 7` / `6 × 7` / `3 times 4` are products, `1,000` / `1{,}000` / `1\\,000` /
`1 000` are 1000, `1\\frac{1}{2}` is the mixed number 3/2, `\\text{...}` is plain text, and a word right
after a number (`5 cm`, `8 apples`, `30^\\circ`) is a unit. Runs of math (numbers, operators,
brackets, LaTeX arithmetic and function commands such as `\\cos`, `\\sqrt`, `\\binom`, lone letters)
are cut at every `=`. A side that text cuts through is dropped rather than guessed: `a third of 60
= 20`, `= 5 to the power 2`, `thirty - 12 = 18`, `+ 2 x 60 = 210`, a bare quantity named by prose
(`she drank 1.5 cups = 4 * 1.5`), clock times (`5:00 - 1:00`). A chain whose sides carry different
units converts between them (`2 hours = 120 minutes`) and is not checked; a unit that prose follows
ends the chain.

Judging. Parsing goes through `rewards.mathgrade.expr` (no eval, size-checked numbers). A claim is
decidable when it is closed (no variables; `e` written as a variable, as in `3p + e = 124`, or a
lone letter on one side, makes it open) or an identity for every value of its variables (equal at
two random rational points, to 40 digits); `x = 5` is an equation to solve. A closed claim holds
when both sides agree to 40 significant digits; a side written as a decimal (`1.414`) against a
side that is computed (`\\sqrt{2}`) holds when the decimal is the computed value rounded (either way
at a tie) or truncated to the digits written (`\\sqrt{2} = 1.414`, `2/3 = 0.666` and `0.667`; not
`\\pi = 3.15`, `\\sqrt{2} = 1`), or a double printed in full (`5/3 = 1.6666666666666665`). Two plain
numbers compare exactly (`0.3 = 0.33` is false). Where notation has two readings, a claim holds if
either does: a percent sign is /100 or a label (`20% of 50 = 10`, `27 / 300 x 100 = 9%`); a
trigonometric function of a number without `\\pi` or a degree mark is in radians or degrees
(`\\sin(30) = 0.5`). Degrees beside a trigonometric function or `\\pi`
are converted to radians (`\\sin 30^\\circ = 1/2`), elsewhere they are a unit.

Counting. A claim counts as work only when it is not trivial and is tied to the problem: trivial
means it still holds with some number in it replaced by anything (`1 = 1.0`, `1 + 0 = 1`, `8 \\cdot 1
= 8`, `0 \\cdot 5 = 0`, `5 - 5 = 0`) or its sides are the same expression once written out (`a = a +
0`, `2x + 3x = 5x`); tied means it computes with a number of the problem (the prompt; digits or
number words) or of an earlier counted claim: `1 + 1 = 2` is not tied to a problem about 2 apples,
`8 + 2 = 10` is. Claims repeated from earlier count once.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)

import sympy

from rewards.mathgrade.expr import ParseError, parse_expr

MAX_CLAIMS = 64  # per step: enough for any honest step, bounds the work per sample
MAX_TEXT = 20_000  # characters of one step that are read
_WIDE = Context(prec=80, Emax=MAX_EMAX, Emin=MIN_EMIN)  # compares values of any magnitude a float can hold

_FUNCTIONS = "arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|exp|ln|log|lg"
_COMMANDS = rf"d?frac|tfrac|d?binom|tbinom|cdot|times|div|sqrt|left|right|pi|{_FUNCTIONS}"
_MATH_RUN = re.compile(
    rf"(?:\\(?:{_COMMANDS})(?![a-zA-Z])|(?<![A-Za-z\\])(?:{_FUNCTIONS}|sqrt|pi)(?![A-Za-z])"
    r"|\uE000[a-z]+\uE001|\uE002|[0-9+\-*/^(){}\[\]|!_=\s]|\.(?!\s|$)|(?<![A-Za-z\\'’])[a-zA-Z](?![A-Za-z])(?!\s+[A-Za-z]{2}))+"
)
_UNICODE = str.maketrans({"×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "−": "-", "–": "-", "π": "\\pi ", "°": "^\\circ", "²": "^2", "³": "^3"})
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?!\.?\d)")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12,
    "half": 2, "twice": 2, "double": 2, "triple": 3, "quarter": 4, "third": 3,
}
_FRACTION_WORDS = {"half", "halves", "third", "thirds", "quarter", "quarters", "fourth", "fourths", "fifth", "fifths",
                   "sixth", "sixths", "eighth", "eighths", "tenth", "tenths", "twice", "double", "triple", "percent"}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
# words that continue an expression: a run of math next to one of them is cut mid-expression
_GLUE = {"by", "over", "per", "squared", "cubed", "factorial", "root", "power", "percent", "mod", "choose",
         "plus", "minus", "divided", "multiplied"}
# words after a number that are sentence, not unit
_NOT_UNITS = _GLUE | set(_FUNCTIONS.split("|")) | {"times",
    "sqrt", "pi", "is", "are", "was", "and", "or", "so", "then", "to", "the", "a", "an", "as", "at", "in",
    "on", "for", "if", "it", "we", "be", "but", "which", "that", "this", "gives", "get", "equals", "from",
    "with", "into", "than", "less", "more", "left", "right", "cdot", "frac", "dfrac", "tfrac", "text",
}
_WORD_AFTER_NUMBER = re.compile(
    r"(\d)(\s*)(?:(?!per\b)([A-Za-z]{2,})(?![\w-]))?(?:\s*(?:/|\bper\b)\s*([A-Za-z]{2,})(?![\w-]))?(\s*\^\s*\{?\d\}?)?")
# written against the number (`5cm`), only these or longer words are units; `2ab` is a product
_SHORT_UNITS = {"cm", "mm", "km", "kg", "mg", "ml", "ft", "yd", "mi", "hr", "hrs", "lb", "lbs", "oz", "mph", "min"}
_DECIMAL = re.compile(r"^-?\d*\.(\d+)$")
_UNIT = re.compile(r"\uE000([a-z]+)\uE001")
_UNIT_THEN_PROSE = re.compile(r"\uE001(?=\s*[^-+*/=^)\s\\;,])")
_BARE = re.compile(r"^\d+(?:\.\d+)?\s*(?:\uE000[a-z]+\uE001)?$")
_DEGREES = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*\uE000degree\uE001")
_ANGLES = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc|pi)(?![A-Za-z])|(?<![A-Za-z])(?:sin|cos|tan|pi)(?![A-Za-z])")
_PLAIN_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_LONE_E = re.compile(r"(?<![A-Za-z\\])e(?![A-Za-z])(?!\s*\^)")
_LONE_LETTER = re.compile(r"^[A-Za-z]$")
_TRIG = (sympy.sin, sympy.cos, sympy.tan, sympy.cot, sympy.sec, sympy.csc)


@dataclass(frozen=True)
class Claim:
    lhs: str
    rhs: str
    holds: bool
    counted: bool = True  # does work tied to the problem (see the module docstring)
    why: str = ""  # for a claim that is not counted: "trivial", "unrelated" or "repeated"


def _sub_all(text: str, rules: list[tuple[str, str | Callable[[re.Match[str]], str]]]) -> str:
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text)
    return text


def _mark_units(text: str) -> str:
    """`5 cm` -> `5\\uE000cm\\uE001`: a word right after a number is a unit (kept apart from variables)."""
    def unit(match: re.Match[str]) -> str:
        digit, space = match.group(1), match.group(2)
        word, per = (match.group(3) or "").lower(), (match.group(4) or "").lower()
        if not (word or per) or {word, per} & _NOT_UNITS or (word and not (space or len(word) > 2 or word in _SHORT_UNITS)):
            return match.group()
        name = (word.removesuffix("s") or word) + (f"per{per.removesuffix('s') or per}" if per else "")
        return f"{digit}\uE000{name}\uE001"
    return _WORD_AFTER_NUMBER.sub(unit, text)


def normalize(text: str) -> str:
    """Step text in the one notation the claim reader and the parser share (see the module docstring)."""
    text = text[:MAX_TEXT].translate(_UNICODE)
    text = _sub_all(text, [
        (r"\\(?:text|textrm|mbox|mathrm|operatorname)\s*\{([^{}]*)\}", r" \1 "),
        (r"\\\$", " "), (r"\\%", "%"), (r"\\[()\[\]]", " "), (r"\$", " "),
        (r"(?<=\d)(?:,|\{,\}|\\,)(?=\d{3}(?!\d))", ""), (r"(?<![\d.])\d{1,3}(?: \d{3})+(?!\.?\d)",
                                                             lambda m: m[0].replace(" ", "")), (r"==+", "="), (r"\\[dt]frac", r"\\frac"),
        (r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|\\degree\b)", r"\1 degrees"),
        (r"(?<=[\d)}])\s*\bsquared\b", "^2"), (r"(?<=[\d)}])\s*\bcubed\b", "^3"),
        (r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:%|\bpercent\b)", "\\1\uE002"),
        (r"(?<=[)}\uE002])\s*\bof\b\s*(?=[\d(\\])", r" \\cdot "),
        (r"(?<![\d.])(\d+)\s*\\frac\s*\{(\d+)\}\s*\{(\d+)\}",
         lambda m: f"({m[1]} + \\frac{{{m[2]}}}{{{m[3]}}})" if int(m[2]) < int(m[3]) else m[0]),
        (r"(?<=\d)\s*[xX]\s*(?=\d)", r" \\times "),
        (r"(?<=\d)\s+(?:times|multiplied\s+by)\s+(?=[\d(\\])", r" \\times "),
        (r"(?<=\d)\s+divided\s+by\s+(?=[\d(\\])", " / "), (r"(?<=\d)\s+plus\s+(?=[\d(\\])", " + "),
        (r"(?<=\d)\s+minus\s+(?=[\d(\\])", " - "),
        (r"(\d)\s*(" + "|".join(_SCALES) + r")\b", lambda m: f"({m[1]} \\cdot {_SCALES[m[2]]})"),
        (r"\.(?=\s|$)", " ; "),
    ])
    return _mark_units(text)


def _cut_before(text: str, start: int) -> bool:
    """True when the text just before a run continues its first expression (`of 50 = ...`, `\\angle A = `)."""
    before = text[:start]
    if before and not text[start].isspace() and (before[-1].isalnum() or before[-1] in "\\^_})]%.':"):
        return True
    if re.search(r"[-+*/^]\s*(?:[A-Za-z]+\s*){1,3}$", before):
        return True  # an operator, then prose: `25 classmates + his 1 teacher + 1 = 27`
    words = re.findall(r"[A-Za-z]+|\S", before[-40:].lower())
    if not words or not words[-1].isalpha():
        return False
    if words[-1] == "of":  # `half of 10 = 5` continues, `a total of 1 + 2 = 3` does not
        return len(words) > 1 and (words[-2] in _FRACTION_WORDS or not words[-2].isalpha())
    return words[-1] in _GLUE


def _cut_after(text: str, end: int) -> bool:
    """True when the text just after a run continues its last expression (`= 5 squared`, `= 3\\angle`)."""
    after = text[end:]
    if text[:end].rstrip().endswith("\uE001"):
        return False  # a unit ends the expression: `= 2 ways to arrange them`
    if after and not text[end - 1].isspace() and (after[0].isalnum() or after[0] in "\\^_{('%:"):
        return True
    match = re.match(r"\s*([A-Za-z]+)(\s+the\s+(?:power|\d))?", after)
    return match is not None and (match.group(1).lower() in _GLUE or bool(match.group(2)))


def _clean(side: str) -> str:
    return side.strip().strip(";").strip()


def _segments(text: str) -> list[tuple[int, int]]:
    """Spans of the math runs of `text`, each ended after a unit that prose follows (`$270 because 180 x 1.5`)."""
    spans = []
    for run in _MATH_RUN.finditer(text):
        start = run.start()
        for unit_end in _UNIT_THEN_PROSE.finditer(text, run.start(), run.end()):
            spans.append((start, unit_end.end()))
            start = unit_end.end()
        spans.append((start, run.end()))
    return spans


def claimed_equalities(text: str) -> list[tuple[str, str]]:
    """Adjacent (lhs, rhs) pairs of every equality chain in `text` (normalised), without trivial repeats."""
    text = normalize(text)
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for start, end in _segments(text):
        chain = text[start:end]
        sides = [_clean(s) for s in chain.split("=")]
        if len(set(_UNIT.findall(chain))) > 1 and len({_unit_of(s) for s in sides if _BARE.match(s)}) > 1:
            continue  # quantities in different units: a conversion (`40 nickels = 40 x 5 = 200 cents`)
        after_word = re.search(r"[A-Za-z]\s*$", text[:start]) is not None
        if _cut_before(text, start) or re.match(r"[+*/^]", sides[0]) or (
                after_word and (_BARE.match(sides[0]) or sides[0].startswith("-"))):
            sides = sides[1:]  # cut mid-expression (`thirty - 12 = 18`), or prose naming a quantity (`drank 2 = 4 / 2`)
        if sides and (_cut_after(text, end) or re.search(r"[-+*/^]$", sides[-1])):
            sides = sides[:-1]
        for lhs, rhs in zip(sides, sides[1:], strict=False):
            key = (re.sub(r"\s+", "", lhs), re.sub(r"\s+", "", rhs))
            if not lhs or not rhs or key[0] == key[1] or key in seen:
                continue
            seen.add(key)
            pairs.append((lhs, rhs))
    return pairs[:MAX_CLAIMS]


def _unit_of(side: str) -> str:
    found = _UNIT.findall(side)
    return found[0] if found else ""


def _without_units(lhs: str, rhs: str) -> tuple[str, str] | None:
    """Both sides without their unit marks, or None when both are quantities in different units
    (`2 hours = 120 minutes`, `1 hour = 60`); units inside a computation (`6/hour * 2 hours = 12`) go."""
    if _BARE.match(lhs) and _BARE.match(rhs) and _unit_of(lhs) != _unit_of(rhs):
        return None
    return _UNIT.sub(" ", lhs).strip(), _UNIT.sub(" ", rhs).strip()


def _parse(side: str) -> sympy.Expr | None:
    try:
        return parse_expr(side)
    except (ParseError, ValueError, TypeError, ZeroDivisionError, ArithmeticError, RecursionError):
        return None


def _value(expr: sympy.Expr, digits: int) -> Decimal | None:
    """`expr` (a real number of at most ~1000 digits before or after the point) to `digits` significant
    digits, or None if it is not one (or too large to be any decimal a step writes)."""
    try:
        number = sympy.Float(sympy.N(expr, digits), digits)
        _, _, exponent, bits = number._mpf_
        if not number.is_finite or abs(exponent + bits) > 4000:
            return None
        return Decimal(str(number))
    except (TypeError, ValueError, ArithmeticError, InvalidOperation):
        return None


def _as_written(value: sympy.Expr, literal: str) -> bool:
    """The decimal `literal` is `value` rounded (either way at a tie) or truncated to the digits written."""
    match = _DECIMAL.match(literal.replace(" ", ""))
    exact = _value(value, 60)
    if not match or exact is None:
        return False
    written, unit = Decimal(literal.replace(" ", "")), Decimal(1).scaleb(-len(match.group(1)))
    try:
        if any(exact.quantize(unit, rounding=how) == written for how in (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN)):
            return True
    except InvalidOperation:  # more digits than the context holds: no decimal written that way
        return False
    # a double printed in full (`5/3 = 1.6666666666666665`): right to a double's precision
    with localcontext(_WIDE):
        return len(literal.strip("-0. ")) >= 15 and abs(exact - written) <= Decimal("2.5e-16") * abs(exact)


def _numerically_zero(diff: sympy.Expr, scale: sympy.Expr) -> bool | None:
    """|diff| below 1e-40 of the scale (True), clearly not (False), or None if not a number."""
    try:  # in mpmath floats, which hold any magnitude (no str(): printing 10^(10^5) takes minutes)
        size, scale = (sympy.N(sympy.Abs(sympy.N(e, 60)), 60) for e in (diff, scale))
        if not (size.is_Float or size.is_zero) or not (scale.is_Float or scale.is_zero) \
                or not (size.is_finite and scale.is_finite):
            return None
        return bool(size <= sympy.Float("1e-40", 60) * max(scale, sympy.Integer(1)))
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return None


def _in_degrees(expr: sympy.Expr) -> sympy.Expr:
    return expr.replace(lambda e: isinstance(e, _TRIG) and e.args[0].is_number and not e.args[0].has(sympy.pi),
                        lambda e: e.func(e.args[0] * sympy.pi / 180))


def _closed_claim_holds(left: sympy.Expr, right: sympy.Expr, lhs: str, rhs: str) -> bool | None:
    readings = [(left, right)]
    if any(isinstance(e, _TRIG) for e in sympy.preorder_traversal(left - right)):
        readings.append((_in_degrees(left), _in_degrees(right)))
    verdicts: list[bool | None] = []
    for a, b in readings:
        diff = a - b  # exact when sympy can cancel (`10^{50} + 1 - 10^{50}` is 1, not "0 to 40 digits")
        zero = diff == 0 if diff.is_Rational else _numerically_zero(diff, abs(a) + abs(b))
        if zero is None:
            verdicts.append(None)
            continue
        rounded = (_PLAIN_NUMBER.match(rhs) and not _PLAIN_NUMBER.match(lhs) and _as_written(a, rhs)) or \
                  (_PLAIN_NUMBER.match(lhs) and not _PLAIN_NUMBER.match(rhs) and _as_written(b, lhs))
        verdicts.append(zero or bool(rounded))
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _readings(lhs: str, rhs: str) -> list[tuple[str, str]]:
    """The ways to read a claim: degrees as radians next to a trigonometric function or pi, and a
    percent sign as /100 or as a label (`0.04 \\times 100 = 4\\%`)."""
    if _ANGLES.search(lhs + rhs):
        lhs, rhs = (_DEGREES.sub(r"(\1\\cdot\\frac{\\pi}{180})", side) for side in (lhs, rhs))
    if "\uE002" not in lhs + rhs:
        return [(lhs, rhs)]
    over_100 = [re.sub(r"(?<![\d.])(\d+(?:\.\d+)?)\uE002", r"(\1/100)", side) for side in (lhs, rhs)]
    return [(over_100[0], over_100[1]), (lhs.replace("\uE002", ""), rhs.replace("\uE002", ""))]


def _check_reading(lhs: str, rhs: str) -> bool | None:
    sides = _without_units(lhs, rhs)
    if sides is None or any(_LONE_LETTER.match(s) for s in sides) or _LONE_E.search(sides[0] + " " + sides[1]):
        return None  # a conversion, an assignment (`e = 37`), or `e` used as a variable
    lhs, rhs = sides
    left, right = _parse(lhs), _parse(rhs)
    if left is None or right is None:
        return None
    if left == right:
        return True
    if (left - right).free_symbols:  # an identity holds at every point: two random ones decide (no simplify())
        return True if _identity(lhs, rhs) else None
    return _closed_claim_holds(left, right, lhs, rhs)


def check(lhs: str, rhs: str) -> bool | None:
    """True or False for a decidable claim (true when any reading of it holds); None when a side does
    not parse or the claim is an equation."""
    verdicts = [_check_reading(a, b) for a, b in _readings(lhs, rhs)]
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _identity(lhs: str, rhs: str) -> bool:
    """Both sides parse and agree at two random points of their variables."""
    left, right = _parse(lhs), _parse(rhs)
    if left is None or right is None:
        return False
    diff = left - right
    symbols = sorted(left.free_symbols | right.free_symbols, key=str)
    rng = random.Random(f"{lhs}={rhs}")
    for _ in range(2):
        point = {s: sympy.Rational(rng.randint(2, 97), rng.randint(2, 97)) for s in symbols}
        try:  # evaluated in floating point at the point: `x^{10^{400}}` would be too large to build exactly
            at = [sympy.N(e, 60, subs=point) for e in (diff, left, right)]
            if not _numerically_zero(at[0], abs(at[1]) + abs(at[2])):
                return False
        except (TypeError, ValueError, ArithmeticError, RecursionError):
            return False
    return True


def numbers_in(text: str) -> set[sympy.Rational]:
    """The absolute values of the numbers written in `text` (digits, and number words like `twelve`)."""
    text = _sub_all(text, [(r"(?<=\d)(?:,|\{,\}|\\,)(?=\d{3}(?!\d))", "")])
    found = {sympy.Rational(n) for n in _NUMBER.findall(text)}
    found |= {sympy.Integer(_NUMBER_WORDS[w.lower()]) for w in re.findall(r"[A-Za-z]+", text)
              if w.lower() in _NUMBER_WORDS}
    return found


def is_trivial(lhs: str, rhs: str) -> bool:
    """True when the claim holds whatever one of its numbers is (`1 + 0 = 1`, `0 \\cdot 5 = 0`, `1 = 1.0`)."""
    sides = _without_units(*_readings(lhs, rhs)[0]) or (lhs, rhs)
    text = sides[0] + "=" + sides[1]
    left, right = _parse(sides[0]), _parse(sides[1])
    if left is not None and left == right and left.free_symbols:
        return True  # the sides are the same expression once written out: `a = a + 0`, `x \cdot 1 = x`
    letters = set(re.findall(r"(?<![A-Za-z\\])[a-zA-Z](?![A-Za-z])", text))
    fresh = next(c for c in "qkmnwzuv" if c not in letters)
    values = {sympy.Rational(n) for n in _NUMBER.findall(text)}
    for value in values:
        def swap(side: str, value: sympy.Rational = value) -> str:
            return _NUMBER.sub(lambda m: f"{{{fresh}}}" if sympy.Rational(m.group()) == value else m.group(), side)
        if _identity(swap(sides[0]), swap(sides[1])):
            return True
    return False


def check_claims(text: str, known: set[sympy.Rational] | None = None,
                 seen: set[tuple[str, str]] | None = None) -> list[Claim]:
    """The decidable claims of `text`, each with whether it holds and whether it counts as work.

    `known` (the problem's numbers and earlier claims' sides) and `seen` (earlier claims) are updated
    in place, so calling this step after step ties each claim to what came before it. Without
    `known`, every non-trivial claim counts."""
    claims = []
    for lhs, rhs in claimed_equalities(text):
        holds = check(lhs, rhs)
        if holds is None:
            continue
        key = (re.sub(r"\s+", "", lhs), re.sub(r"\s+", "", rhs))
        numbers = numbers_in(lhs + " " + rhs)
        if holds and is_trivial(lhs, rhs):
            why = "trivial"
        elif holds and known is not None and not _operands(lhs, rhs) & known:
            why = "unrelated"
        elif holds and seen is not None and key in seen:
            why = "repeated"
        else:
            why = ""
        claims.append(Claim(lhs, rhs, holds, counted=holds and not why, why=why))
        if seen is not None:
            seen.add(key)
        if known is not None and (not holds or why == ""):  # padding adds nothing to build on
            known |= numbers | _side_values(lhs, rhs)
    return claims


def _operands(lhs: str, rhs: str) -> set[sympy.Rational]:
    """The numbers a claim computes with: those of its sides that are more than a plain number."""
    sides = _without_units(lhs, rhs) or (lhs, rhs)
    return set().union(*(numbers_in(side) for side in sides if not _PLAIN_NUMBER.match(side.strip("() "))))


def _side_values(lhs: str, rhs: str) -> set[sympy.Rational]:
    """The rational values of the claim's sides (results that later claims may build on)."""
    values = set()
    for side in _without_units(*_readings(lhs, rhs)[0]) or ():
        expr = _parse(side)
        if expr is not None and expr.is_Rational:
            values.add(abs(expr))
    return values
