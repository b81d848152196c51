"""Are two parsed answers the same? Exact numbers first, sympy only when needed.

Expressions with variables are compared by evaluating both at pseudo-random positive points
(variables in competition answers are taken as positive reals, so `\\sqrt{1/n}` = `1/\\sqrt{n}`),
then checked at negative points where both sides are real (so `|x|` != `x`). The points are exact
rationals with a large prime denominator, both drawn from a hash of the two expressions: an answer
cannot be built to vanish at them (`\\sin(2^{200}\\pi x)` is 0 at every binary float with fewer bits).
Numeric checks use 30 significant digits and a relative tolerance, so `1/2004!` != `1/2006!` and
`\\pi` != `3.14`; an integer reference is exact (tolerance only absorbs numeric noise there).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from fractions import Fraction

import sympy
from sympy.functions.elementary.trigonometric import TrigonometricFunction

from rewards.mathgrade.expr import MAX_PERIODIC_ARG
from rewards.mathgrade.parse import Choice, Interval, Matrix, Num, Relation, Seq, Sym, Text, Union, Value

PRECISION = 30
TRIALS = 3
EXACT_REL = 1e-25  # numeric noise at PRECISION digits: what an exact comparison still lets through
EXACT_ABS = 1e-6
ASTRONOMICAL = 2**20  # an exponent beyond this makes sympy recompute an exact point to that many bits
_HASH_MOD = 2**61 - 1
Point = dict[sympy.Symbol, sympy.Expr]  # symbol -> the value it takes


@dataclass(frozen=True)
class Tolerance:
    """Relative tolerance for numbers that are not exactly equal, plus an absolute floor."""

    rel: float = 1e-9
    abs: float = 0.0
    exact: bool = False  # the reference is an integer: `rel` shrinks to numeric noise; `abs` still applies


def _close(a: Fraction, b: Fraction, tol: Tolerance) -> bool:
    return abs(a - b) <= Fraction(tol.rel) * max(abs(a), abs(b)) + Fraction(tol.abs)


def percent_reading(gold: Num, pred: Num) -> Fraction:
    """The answer's number on the reference's scale: one reading per reference, so no answer hedges two.

    `%` is a unit: the numbers compare as written (`50` and `50\\%` agree, `5000\\%` is not `50`), except when
    only the answer has it and the reference is a proportion strictly between -1 and 1: then the answer's
    percent is its value (`50\\%` is `0.5`, and `0.5\\%` is not `0.5`).
    """
    if pred.percent and not gold.percent and 0 < abs(gold.value) < 1:
        return pred.value / 100
    return pred.value


def _terminating(value: Fraction) -> bool:
    """Whether `value` is a finite decimal (its denominator has no prime but 2 and 5)."""
    d = value.denominator
    for prime in (2, 5):
        while d % prime == 0:
            d //= prime
    return d == 1


def _numbers_equal(gold: Num, pred: Num, tol: Tolerance) -> bool:
    """Exact rationals: equal, or close for a non-integer reference (see `percent_reading`)."""
    g, p = gold.value, percent_reading(gold, pred)
    if g == p:
        return True
    if g.denominator == 1 or _terminating(p) and p.denominator <= g.denominator <= 10**6:
        # an integer reference, or a decimal answer no finer than a short reference (`123456789.2` for
        # `123456789.1`), is never relatively "close enough": rel_tol is for long expansions on either side
        # (`0.30000000000000004`, `1/3` for a stored `0.3333333333333333`); abs_tol is explicit
        return abs(g - p) <= Fraction(tol.abs)
    return _close(g, p, tol)


def _to_sympy(value: Num | Sym) -> sympy.Expr:
    return sympy.Rational(value.value.numerator, value.value.denominator) if isinstance(value, Num) else value.expr


def _evaluate(expr: sympy.Expr, subs: Point) -> sympy.Expr | None:
    """A finite numeric value of `expr` at `subs`, or None."""
    try:
        value = expr.evalf(PRECISION, subs=subs) if subs else expr.evalf(PRECISION)
    except (TypeError, ValueError, ArithmeticError, AttributeError, MemoryError):
        return None  # mpmath gives up (or runs out of memory) on some huge or odd values
    if not value.is_number or value.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return None
    return value


def _certainly_nonzero(value: sympy.Expr) -> bool:
    """A nonzero value that evalf computed to full precision (an exact zero evaluates with no digits at all)."""
    if value.is_Rational:
        return bool(value != 0)
    return bool(value.is_Float and value != 0 and value._prec >= 60)


def _values_close(a: sympy.Expr, b: sympy.Expr, tol: Tolerance, diff: sympy.Expr | None = None) -> bool:
    """|a - b| within tolerance; `diff`, when given, is a - b evaluated as one expression (no cancellation)."""
    exact_diff = diff is not None
    diff = abs((a - b).evalf(PRECISION) if diff is None else diff)
    if exact_diff and tol.exact and _certainly_nonzero(diff):
        return bool(diff <= tol.abs)  # `e^{\\pi\\sqrt{163}}` is 7.5e-13 away from an integer: not equal
    scale = max(abs(a), abs(b))
    relative = tol.rel * scale
    if tol.exact:
        relative = min(relative, EXACT_REL * max(scale, 1), EXACT_ABS)
    return bool(diff <= relative + tol.abs)


def _fingerprint(expr: sympy.Expr) -> int:
    """A hash of an expression that is the same in every process (no printing: huge integers print slowly)."""
    crc = 0
    for node in sympy.preorder_traversal(expr):
        if node.is_Rational:
            part = f"{int(node.p) % _HASH_MOD}/{int(node.q) % _HASH_MOD}"
        elif node.is_Symbol:
            part = node.name
        elif node.is_Atom:
            part = str(node)
        else:
            part = type(node).__name__
        crc = zlib.crc32(part.encode(), crc)
    return crc


def sample_points(a: sympy.Expr, b: sympy.Expr, symbols: list[sympy.Symbol]) -> list[Point]:
    """TRIALS positive points (symbol -> exact rational in about [0.3, 3]) drawn from a hash of both sides.

    Different names get different values; the shared denominator is a prime above 10^6 that no
    answer can anticipate, so no term like `\\sin(N \\pi x)` vanishes at the points.
    """
    low, high = sorted((_fingerprint(a), _fingerprint(b)))
    key = f"{low}:{high}"
    denominator = sympy.nextprime(1_000_000 + zlib.crc32(key.encode()) % 1_000_000)
    points = []
    for trial in range(TRIALS):
        point = {}
        for symbol in symbols:
            seed = zlib.crc32(f"{key}:{symbol.name}:{trial}".encode())
            point[symbol] = sympy.Rational(denominator * (11_470 + seed % 100_000) // 37_000, denominator)
        points.append(point)
    return points


def _negated(point: Point) -> Point:
    return {symbol: -value for symbol, value in point.items()}


def _evaluate_at(expr: sympy.Expr, point: Point) -> sympy.Expr | None:
    """`expr` at an exact point, or None when an exponent there is astronomical (`x^{x^{x^x}}` at 3)."""
    floats = {symbol: sympy.Float(value, PRECISION) for symbol, value in point.items()}
    for node in sympy.postorder_traversal(expr):  # inner exponents first: each check is then cheap
        if isinstance(node, (sympy.Pow, sympy.exp)):
            exponent = _evaluate(node.exp, floats)
            if exponent is None or abs(exponent) > ASTRONOMICAL:
                return None
        elif isinstance(node, TrigonometricFunction):
            argument = _evaluate(node.args[0], floats)
            if argument is None or abs(argument) > MAX_PERIODIC_ARG:
                return None  # reducing `\\sin(2^{99999} x)` modulo pi costs seconds
    return _evaluate(expr, point)


def _is_real(value: sympy.Expr) -> bool:
    return bool(abs(sympy.im(value)) <= 1e-20 * (1 + abs(value)))


def expressions_equal(a: sympy.Expr, b: sympy.Expr, tol: Tolerance) -> bool:
    """Equal as numbers (no variables) or as functions of their variables."""
    if a == b:
        return True
    if a.has(sympy.oo, -sympy.oo, sympy.zoo) or b.has(sympy.oo, -sympy.oo, sympy.zoo):
        return False  # infinities are equal only structurally
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if not symbols:
        va, vb = _evaluate(a, {}), _evaluate(b, {})
        diff = _evaluate(a - b, {}) if tol.exact else None  # `10^{100} + \\pi` is not `10^{100}`
        return va is not None and vb is not None and _values_close(va, vb, tol, diff)
    points = sample_points(a, b, symbols)
    exact = Tolerance(tol.rel, tol.abs, exact=True)  # an expression is exact: `10^{20}x` is not `10^{20}x + 1`
    agreed = 0
    for subs in points:
        va, vb = _evaluate_at(a, subs), _evaluate_at(b, subs)
        if va is None or vb is None:
            continue
        if not _values_close(va, vb, exact, _evaluate_at(a - b, subs)):
            return False
        agreed += 1
    if agreed < 2:
        return False
    for subs in map(_negated, points[:2]):
        va, vb = _evaluate_at(a, subs), _evaluate_at(b, subs)
        if va is not None and vb is not None and _is_real(va) and _is_real(vb) and not _values_close(va, vb, tol):
            return False
    return True


def scalars_equal(gold: Num | Sym, pred: Num | Sym, tol: Tolerance) -> bool:
    if isinstance(gold, Num) and isinstance(pred, Num):
        return _numbers_equal(gold, pred, tol)
    if isinstance(gold, Num) and gold.value.denominator == 1:
        tol = Tolerance(tol.rel, tol.abs, exact=True)
    return expressions_equal(_to_sympy(gold), _to_sympy(pred), tol)


def _sign_patterns(point: Point) -> list[Point]:
    """The point itself, all signs flipped, and alternating signs: relations are not only about positives."""
    alternating = {symbol: -value if i % 2 else value for i, (symbol, value) in enumerate(point.items())}
    return [point, _negated(point)] + ([alternating] if len(point) > 1 else [])


def _ratio_constant(d1: sympy.Expr, d2: sympy.Expr, positive: bool) -> bool:
    """d1 = c * d2 for one nonzero constant c (positive for inequalities), checked at sample points of every sign
    where both sides are real (so `|x| = 3` is not `x = 3`)."""
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=lambda s: s.name)
    if not symbols:
        return False
    ratios, positives = [], 0
    for base in sample_points(d1, d2, symbols):
        for i, subs in enumerate(_sign_patterns(base)):
            v1, v2 = _evaluate_at(d1, subs), _evaluate_at(d2, subs)
            if v1 is None or v2 is None or v2 == 0 or v1 == 0 or not (_is_real(v1) and _is_real(v2)):
                continue
            ratios.append(v1 / v2)
            positives += i == 0
    if positives < 2 or not all(_values_close(r, ratios[0], Tolerance(1e-12)) for r in ratios):
        return False
    return _is_real(ratios[0]) and (not positive or sympy.re(ratios[0]) > 0)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _single_relation(rel: Relation) -> tuple[sympy.Expr, str] | None:
    """`a op b` as (difference, op) with op in `=`, `!=`, `>`, `>=` (difference op 0)."""
    if len(rel.ops) != 1 or not all(isinstance(p, (Num, Sym)) for p in rel.parts):
        return None
    lhs, rhs = (_to_sympy(p) for p in rel.parts)  # type: ignore[arg-type]
    op = rel.ops[0]
    if op in ("<", "<="):
        return rhs - lhs, _FLIP[op]
    return lhs - rhs, op


def _as_interval(rel: Relation) -> Interval | None:
    """`x > 3` -> (3, oo); `1 < x <= 3` -> (1, 3]; None unless one variable against constants."""
    parts = rel.parts
    if not all(isinstance(p, (Num, Sym)) for p in parts) or "=" in rel.ops or "!=" in rel.ops:
        return None
    exprs = [_to_sympy(p) for p in parts]  # type: ignore[arg-type]
    if len(parts) == 2 and not any(isinstance(e, sympy.Symbol) for e in exprs):
        if not _solved(rel):
            return None  # `2x - 4 > 0` restates the question; `-x > -1` is solved
        return _linear_interval(exprs[0] - exprs[1], rel.ops[0])
    variables = [i for i, e in enumerate(exprs) if isinstance(e, sympy.Symbol)]
    if len(variables) != 1 or any(e.free_symbols for i, e in enumerate(exprs) if i != variables[0]):
        return None
    ops = list(rel.ops)
    if all(op in (">", ">=") for op in ops):  # read the chain right to left
        parts, ops = parts[::-1], [_FLIP[op] for op in ops[::-1]]
        variables = [len(parts) - 1 - variables[0]]
    if not all(op in ("<", "<=") for op in ops):
        return None
    at = variables[0]
    if len(parts) == 2:
        if at == 0:
            return Interval(Sym(-sympy.oo), parts[1], True, ops[0] == "<")
        return Interval(parts[0], Sym(sympy.oo), ops[0] == "<", True)
    if len(parts) == 3 and at == 1:
        return Interval(parts[0], parts[2], ops[0] == "<", ops[1] == "<")
    return None


def _linear_interval(difference: sympy.Expr, op: str) -> Interval | None:
    """`a*x + b op 0` for one variable and constants a != 0, b, as the interval of x (`-x > -1` is x < 1)."""
    symbols = difference.free_symbols
    if len(symbols) != 1:
        return None
    (x,) = symbols
    poly = sympy.Poly(difference, x) if difference.is_polynomial(x) else None
    if poly is None or poly.degree() != 1 or any(c.free_symbols for c in poly.all_coeffs()):
        return None
    slope, intercept = poly.all_coeffs()
    if not slope.is_real or slope == 0:
        return None
    bound = _scalar_value(-intercept / slope)
    op = _FLIP[op] if slope < 0 else op  # dividing by a negative slope turns the relation around
    if op in ("<", "<="):
        return Interval(Sym(-sympy.oo), bound, True, op == "<")
    return Interval(bound, Sym(sympy.oo), op == ">", True)


def _scalar_value(expr: sympy.Expr) -> Num | Sym:
    return Num(Fraction(int(expr.p), int(expr.q))) if expr.is_Rational else Sym(expr)


def _solved(rel: Relation) -> bool:
    """`x = 2`, `2 = x`, `x > 2`, `-x > -1`: one side a lone variable, the other free of variables."""
    if len(rel.parts) != 2 or not all(isinstance(p, (Num, Sym)) for p in rel.parts):
        return False
    lhs, rhs = (_to_sympy(p) for p in rel.parts)  # type: ignore[arg-type]
    return any(isinstance(one, sympy.Symbol) or isinstance(-one, sympy.Symbol)
               for one, other in ((lhs, rhs), (rhs, lhs)) if not other.free_symbols)


def _relations_equal(a: Relation, b: Relation, tol: Tolerance) -> bool:
    if len(a.parts) != len(b.parts):
        return False
    if _solved(a) and not _solved(b):
        return False  # `3x + 5 = 11` restates the question `x = 2` answers
    if a.ops == ("=",) == b.ops and isinstance(a.parts[0], Sym) and a.parts[0] == b.parts[0]:
        return equal(a.parts[1], b.parts[1], tol)  # same variable on the left: compare right sides
    sa, sb = _single_relation(a), _single_relation(b)
    if sa is None or sb is None:
        return len(a.ops) == len(b.ops) and a.ops == b.ops and all(
            equal(x, y, tol) for x, y in zip(a.parts, b.parts, strict=True)
        )
    (da, opa), (db, opb) = sa, sb
    if opa != opb:
        return False
    return _ratio_constant(da, db, positive=opa in (">", ">="))


def _unwrap_assignment(value: Value) -> Value:
    """`x = 3` -> `3`; items of a list likewise (used only when the other side is no equation)."""
    if isinstance(value, Relation) and value.ops == ("=",) and len(value.parts) == 2:
        lhs = value.parts[0]
        if isinstance(lhs, Sym) and isinstance(lhs.expr, sympy.Symbol):
            return value.parts[1]
        if isinstance(lhs, Seq) and all(isinstance(v, Sym) and isinstance(v.expr, sympy.Symbol) for v in lhs.items):
            return value.parts[1]  # `(x, y) = (5, 8)`
    if isinstance(value, Seq):
        return Seq(value.kind, tuple(_unwrap_assignment(item) for item in value.items))
    return value


def _is_equation(value: Value) -> bool:
    """An equation, or items of which one is (`(x, y) = (5, 8) and (8, 5)`)."""
    if isinstance(value, Seq):
        return any(_is_equation(item) for item in value.items)
    return isinstance(value, Relation) and "=" in value.ops


def _distinct(items: tuple[Value, ...]) -> tuple[Value, ...]:
    """Items with repeats (written the same way) left out: a solution listed twice is still one solution."""
    return tuple(dict.fromkeys(items))


def _unordered_equal(a: tuple[Value, ...], b: tuple[Value, ...], tol: Tolerance) -> bool:
    if len(a) != len(b):
        a, b = _distinct(a), _distinct(b)
    if len(a) != len(b):
        return False
    unused = list(b)
    for item in a:
        match = next((i for i, other in enumerate(unused) if equal(item, other, tol)), None)
        if match is None:
            return False
        unused.pop(match)
    return True


def _ordered_equal(a: tuple[Value, ...], b: tuple[Value, ...], tol: Tolerance) -> bool:
    return len(a) == len(b) and all(equal(x, y, tol) for x, y in zip(a, b, strict=True))


def _seqs_equal(a: Seq, b: Seq, tol: Tolerance) -> bool:
    if "tuple" in (a.kind, b.kind):
        return "set" not in (a.kind, b.kind) and _ordered_equal(a.items, b.items, tol)
    return _unordered_equal(a.items, b.items, tol)


def _intervals_equal(a: Interval, b: Interval, tol: Tolerance) -> bool:
    return (
        a.lo_open == b.lo_open and a.hi_open == b.hi_open and equal(a.lo, b.lo, tol) and equal(a.hi, b.hi, tol)
    )


def _tuple_as_interval(value: Value) -> Value:
    """`(a, b)` read as an open interval, for comparing with an interval."""
    if isinstance(value, Seq) and value.kind == "tuple" and len(value.items) == 2:
        return Interval(value.items[0], value.items[1], True, True)
    return value


def _unbounded(value: Value) -> bool:
    """A tuple with an infinite end (`(3, \\infty)`) is an interval, never a point."""
    return isinstance(value, Seq) and any(isinstance(v, Sym) and v.expr.has(sympy.oo, -sympy.oo) for v in value.items)


def _relation_as_interval(value: Value) -> Value:
    return (_as_interval(value) or value) if isinstance(value, Relation) else value


def _tuple_items(value: Value) -> tuple[Value, ...] | None:
    """A sequence's items, or a one-row or one-column matrix's entries in order; None for anything else."""
    if isinstance(value, Seq):
        return value.items
    if isinstance(value, Matrix) and len(value.rows) == 1:
        return value.rows[0]
    if isinstance(value, Matrix) and all(len(row) == 1 for row in value.rows):
        return tuple(row[0] for row in value.rows)
    return None


def equal(gold: Value, pred: Value, tol: Tolerance) -> bool:
    """Whether `pred` states the same answer as `gold`."""
    if _is_equation(gold) != _is_equation(pred):
        gold, pred = _unwrap_assignment(gold), _unwrap_assignment(pred)
    if isinstance(gold, (Interval, Relation)) or isinstance(pred, (Interval, Relation)):
        # a reference tuple `(1, 2)` may be a point: only interval notation in the answer reads it as an interval
        if isinstance(pred, Interval) or _unbounded(gold):
            gold = _tuple_as_interval(gold)
        gold, pred = _relation_as_interval(gold), _relation_as_interval(pred)
        if isinstance(gold, Interval):
            pred = _tuple_as_interval(pred)
    match gold, pred:
        case (Num() | Sym(), Num() | Sym()):
            return scalars_equal(gold, pred, tol)
        case (Seq(), Seq()):
            return _seqs_equal(gold, pred, tol)
        case (Interval(), Interval()):
            return _intervals_equal(gold, pred, tol)
        case (Union(), Union()):
            return _unordered_equal(gold.parts, pred.parts, tol)
        case (Matrix(), Matrix()):
            return len(gold.rows) == len(pred.rows) and all(
                _ordered_equal(r1, r2, tol) for r1, r2 in zip(gold.rows, pred.rows, strict=True)
            )
        case (Matrix(), Seq(kind="tuple")) | (Seq(kind="tuple"), Matrix()):
            gold_items, pred_items = _tuple_items(gold), _tuple_items(pred)
            return gold_items is not None and pred_items is not None and _ordered_equal(gold_items, pred_items, tol)
        case (Relation(), Relation()):
            return _relations_equal(gold, pred, tol)
        case (Choice(), Choice()):
            return gold.letter == pred.letter
        case (Text(), Text()):
            return gold.text == pred.text
    return False


def _gap_in_units(exact: Value, approximation: Value, written: str) -> sympy.Expr | None:
    """|exact - approximation| in units of the last digit `written` shows (`1.414`: thousandths), or None."""
    if not isinstance(exact, (Num, Sym)) or not isinstance(approximation, (Num, Sym)):
        return None
    a, b = _evaluate(_to_sympy(exact), {}), _evaluate(_to_sympy(approximation), {})
    if a is None or b is None:
        return None
    decimals = re.search(r"\.(\d+)", written)
    return abs(a - b) * 10 ** (len(decimals.group(1)) if decimals else 0)


def approximately_equal(exact: Value, approximation: Value, written: str = "") -> bool:
    """Whether a value written as an approximation (`\\approx 1.414`) states the exact value before it: closer
    than one unit in the last digit written (`\\frac13 \\approx 0.333`, `\\frac23 \\approx 0.666`; not `100 \\approx 101`)."""
    gap = _gap_in_units(exact, approximation, written)
    return gap is not None and bool(gap < 1)


def rounds_to(exact: Value, rounded: Value, written: str) -> bool:
    """Whether `written` (the text of `rounded`) is `exact` rounded to the digits it shows: within half a unit in
    its last digit (`2\\pi - 4` -> `2.3`, `2.2831` -> `2.28`; not `2.21` -> `2.3`)."""
    gap = _gap_in_units(exact, rounded, written)
    return gap is not None and bool(gap <= sympy.Rational(1, 2))


def stage_of(gold: Value, pred: Value) -> str:
    """Name of the comparison stage for `details`: number, symbolic, structure, choice or text."""
    if isinstance(gold, Num) and isinstance(pred, Num):
        return "number"
    if isinstance(gold, (Num, Sym)) and isinstance(pred, (Num, Sym)):
        return "symbolic"
    if isinstance(gold, Choice):
        return "choice"
    if isinstance(gold, Text):
        return "text"
    return "structure"
