"""Parsing answers: normalization, exact numbers, the safe expression parser, and structured values."""

from fractions import Fraction as F

import pytest
import sympy
from sympy import E, I, Rational, Symbol, oo, pi, sqrt

from rewards.mathgrade.expr import ParseError, TooLarge, parse_expr, tokenize
from rewards.mathgrade.normalize import normalize
from rewards.mathgrade.parse import (
    Choice,
    Interval,
    Matrix,
    Num,
    Relation,
    Seq,
    Sym,
    Text,
    Union,
    parse_answer,
    parse_choice,
    parse_number,
    show,
)

x, y, n = Symbol("x"), Symbol("y"), Symbol("n")


@pytest.mark.parametrize("raw, text, percent, degrees", [
    ("$5$", "5", False, False),
    (r"\(5\)", "5", False, False),
    (r"\[5\]", "5", False, False),
    (r"\boxed{5}", "5", False, False),
    (r"5\text{ cm}", "5", False, False),
    (r"5\text{ cm}^2", "5", False, False),
    (r"10 \mbox{ square units}", "10", False, False),
    (r"\$12.50", "12.50", False, False),
    ("12 dollars", "12", False, False),
    (r"30^\circ", "30", False, True),
    (r"30^{\circ}", "30", False, True),
    ("30°", "30", False, True),
    (r"50\%", "50", True, False),
    ("50%", "50", True, False),
    (r"\dfrac{1}{2}", r"\frac{1}{2}", False, False),
    (r"\left( 1, 2 \right)", "( 1, 2 )", False, False),
    (r"1{,}000", "1000", False, False),
    ("7.", "7", False, False),
    (r"\text{Monday}", "Monday", False, False),
    ("The answer is 5", "5", False, False),
    (r"x\,=\,3", "x = 3", False, False),
    ("5 m" + "m" * 40 + "X", "5 m" + "m" * 40 + "X", False, False),
])
def test_normalize(raw, text, percent, degrees):
    assert normalize(raw) == (normalize(raw).__class__(text, percent, degrees))


@pytest.mark.parametrize("text, value", [
    ("42", F(42)), ("-7", F(-7)), ("+3", F(3)), ("1,234", F(1234)), ("1,234,567.5", F(2469135, 2)),
    ("0.5", F(1, 2)), (".25", F(1, 4)), ("3.", F(3)), ("1.5e3", F(1500)), ("1.5E-3", F(3, 2000)),
    (r"1.5\times10^{3}", F(1500)), (r"1.5 \times 10^3", F(1500)), (r"2\cdot 10^{-2}", F(1, 50)),
    (r"\frac{3}{4}", F(3, 4)), (r"-\frac{3}{4}", F(-3, 4)), (r"2\frac{1}{2}", F(5, 2)),
    (r"2 \frac{1}{2}", F(5, 2)), (r"-2\frac{1}{2}", F(-5, 2)), ("3/4", F(3, 4)), ("-3 / 4", F(-3, 4)),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["x", "1,2", "1, 234", r"\frac{x}{2}", "1/2/3", "1e", "", "--1", r"\sqrt{2}"])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


def test_parse_number_bounds():
    with pytest.raises(ParseError):
        parse_number("1/0")
    with pytest.raises(TooLarge):
        parse_number("1e999999999")


@pytest.mark.parametrize("text, expr", [
    (r"\frac{1}{2}", Rational(1, 2)), (r"\frac12", Rational(1, 2)), (r"\frac1{2}", Rational(1, 2)),
    ("pi/2", pi / 2), (r"\frac{\pi}{2}", pi / 2), ("exp(16)", sympy.exp(16)), ("e^{16}", sympy.exp(16)),
    ("sqrt(2)/2", sqrt(2) / 2), (r"\frac{\sqrt{2}}{2}", sqrt(2) / 2), ("14 - i", 14 - I), ("3+4i", 3 + 4 * I),
    (r"\sqrt{1/n}", sqrt(1 / n)), (r"\frac{1}{\sqrt{n}}", 1 / sqrt(n)), (r"4\sqrt{2}", 4 * sqrt(2)),
    ("1-1/e", 1 - 1 / E), (r"2^{10}", Rational(1024)), ("2^10", Rational(1024)), ("2**3", Rational(8)),
    (r"\sqrt[3]{27}", Rational(3)), (r"\log_2 8", Rational(3)), (r"\ln e", Rational(1)),
    (r"\sin^2 x + \cos^2 x", sympy.sin(x) ** 2 + sympy.cos(x) ** 2), ("2xy", 2 * x * y),
    ("x^2+2x+1", x**2 + 2 * x + 1), (r"x^{2}y", x**2 * y), ("(x+1)(x-1)", (x + 1) * (x - 1)),
    (r"\left(\frac{1}{2}\right)^2", Rational(1, 4)), ("5!", Rational(120)), (r"\binom{5}{2}", Rational(10)),
    ("|x-1|", sympy.Abs(x - 1)), (r"\infty", oo), (r"-\infty", -oo), (r"2\pi r", 2 * pi * Symbol("r")),
    (r"\alpha + 1", Symbol("alpha") + 1), ("x_1 + x_{2}", Symbol("x_1") + Symbol("x_2")),
    (r"3 \cdot 4", Rational(12)), (r"6 \div 4", Rational(3, 2)), (r"e^{i\pi}", Rational(-1)),
    (r"\cos(\pi)", Rational(-1)), ("2^-1", Rational(1, 2)), (r"2^{3^2}", Rational(512)), ("-x^2", -(x**2)),
    (r"\tan x", sympy.tan(x)), ("sin(x)", sympy.sin(x)), (r"\arctan 1", pi / 4),
])
def test_parse_expr(text, expr):
    parsed = parse_expr(text)
    assert parsed == expr or sympy.simplify(parsed - expr) == 0


@pytest.mark.parametrize("text", [
    "Monday", "__import__('os')", "lambda: 1", "1 +", "(1", "x)", r"\frac{1}{0}", "0^{-1}", "(-1)!",
    r"\unknown{3}", "1 @ 2", "a.b", "x'", "os.system('ls')", "exec", "{1", r"\frac{1}", "",
])
def test_parse_expr_rejects(text):
    with pytest.raises(ParseError):
        parse_expr(text)


@pytest.mark.parametrize("text", [
    r"(10^{10})!", r"9^{9^{9^9}}", r"2^{2^{30}}", r"\sqrt{2}^{10^{10}}", "10^{10^{10}}", "(10^{6})!",
    "1" * 5000, r"2^{10^{100}}", r"\left(\frac{1}{3}\right)^{10^{9}}", r"(7x)^{10^{9}}", r"(\sqrt{2}y)^{(10)!}",
    r"(n!)!", r"(x^{2})!", r"\exp(\exp(\exp(3)))", r"e^{e^{e^{3}}}",
])
def test_huge_values_are_refused_before_any_work(text):
    with pytest.raises(TooLarge):
        parse_expr(text)


def test_absolute_values_stay_unevaluated_so_they_cannot_explode():
    value = parse_expr(r"|\sqrt{\sqrt{i}+(3)!}|")
    assert isinstance(value, sympy.Abs)
    assert parse_answer("|-3|") == Sym(sympy.Abs(-3, evaluate=False))


def test_symbolic_huge_exponent_is_fine():
    assert parse_expr("x^{10^{10}}") == x ** (10**10)


def test_deep_nesting_is_refused():
    with pytest.raises(ParseError, match="deep"):
        parse_expr("(" * 500 + "1" + ")" * 500)


def test_tokenizer_whitelist():
    kinds = [t.kind for t in tokenize(r"\frac{a}{2} + sin x")]
    assert kinds == ["cmd", "op", "name", "op", "op", "num", "op", "op", "word", "name", "end"]
    with pytest.raises(ParseError):
        tokenize("1 ; import os")


@pytest.mark.parametrize("text, value", [
    ("42", Num(F(42))),
    (r"50\%", Num(F(50), percent=True)),
    (r"\{1, 2\}", Seq("set", (Num(F(1)), Num(F(2))))),
    (r"\{\}", Text(r"\emptyset")), (r"\varnothing", Text(r"\emptyset")),
    ("(1, 2)", Seq("tuple", (Num(F(1)), Num(F(2))))),
    ("(1, 2, 3)", Seq("tuple", (Num(F(1)), Num(F(2)), Num(F(3))))),
    ("[1, 2, 3]", Seq("tuple", (Num(F(1)), Num(F(2)), Num(F(3))))),
    ("1, 2", Seq("list", (Num(F(1)), Num(F(2))))),
    ("1 or 2", Seq("set", (Num(F(1)), Num(F(2))))), ("1, 2", Seq("list", (Num(F(1)), Num(F(2))))),
    (r"1 \text{ and } 2", Seq("list", (Num(F(1)), Num(F(2))))),
    ("[2,5)", Interval(Num(F(2)), Num(F(5)), False, True)),
    ("(2,5]", Interval(Num(F(2)), Num(F(5)), True, False)),
    ("[2,5]", Interval(Num(F(2)), Num(F(5)), False, False)),
    (r"(-\infty, 3]", Interval(Sym(-oo), Num(F(3)), True, False)),
    (r"[1,2] \cup (3,4)", Union((Interval(Num(F(1)), Num(F(2)), False, False),
                                 Seq("tuple", (Num(F(3)), Num(F(4))))))),
    (r"x \in [1, 2]", Interval(Num(F(1)), Num(F(2)), False, False)),
    ("x = 3", Relation((Sym(x), Num(F(3))), ("=",))),
    ("x = 1, 2", Relation((Sym(x), Seq("list", (Num(F(1)), Num(F(2))))), ("=",))),
    ("x=1, x=2", Seq("list", (Relation((Sym(x), Num(F(1))), ("=",)), Relation((Sym(x), Num(F(2))), ("=",))))),
    ("3 < x", Relation((Num(F(3)), Sym(x)), ("<",))),
    (r"x \geq 3", Relation((Sym(x), Num(F(3))), (">=",))),
    (r"1 < x \le 3", Relation((Num(F(1)), Sym(x), Num(F(3))), ("<", "<="))),
    (r"\pm 2", Seq("set", (Num(F(2)), Num(F(-2))))),
    (r"1 \pm \sqrt{2}", Seq("set", (Sym(1 + sqrt(2)), Sym(1 - sqrt(2))))),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
     Matrix(((Num(F(1)), Num(F(2))), (Num(F(3)), Num(F(4)))))),
    (r"\begin{bmatrix} x \\ 2 \end{bmatrix}", Matrix(((Sym(x),), (Num(F(2)),)))),
    ("(C)", Choice("C")), ("C", Choice("C")), ("option B", Choice("B")), (r"\text{(D)}", Choice("D")),
    (r"\text{Monday}", Text("monday")), ("yes", Text("yes")), ("14 - i", Sym(14 - I)),
    (r"\frac{\sqrt{3}}{2}", Sym(sqrt(3) / 2)), (r"\frac{6}{4}", Num(F(3, 2))), ("2^{-2}", Num(F(1, 4))),
    ("(x+1)", Sym(x + 1)), (r"30^\circ", Num(F(30))), (r"\frac{1}{0}", Text(r"\frac{1}{0}")),
])
def test_parse_answer(text, value):
    assert parse_answer(text) == value


def test_parse_answer_empty_and_too_large():
    with pytest.raises(ParseError):
        parse_answer("  ")
    with pytest.raises(TooLarge):
        parse_answer(r"9^{9^{9^9}}")


@pytest.mark.parametrize("text, letter", [
    ("(C)", "C"), ("C", "C"), ("(c)", "C"), ("option C", "C"), ("Choice b", "B"), ("C: 42", "C"),
    ("(C) 42", "C"), (r"\text{(E)}", "E"), ("C.", "C"),
])
def test_parse_choice(text, letter):
    assert parse_choice(text) == Choice(letter)


@pytest.mark.parametrize("text", ["42", "x", "cat", "Z", "c"])
def test_parse_choice_rejects(text):
    assert parse_choice(text) is None


def test_show_is_short_and_safe_for_huge_integers():
    huge = parse_answer("1/2004!")
    assert len(show(huge)) <= 300
    assert show(Num(F(1))) == "Num(value=Fraction(1, 1), percent=False)"
