"""Comparing parsed answers: every kind of value, both equal and unequal, and tolerance settings."""

import pytest

from rewards.mathgrade.compare import Tolerance, equal, stage_of
from rewards.mathgrade.parse import parse_answer

DEFAULT = Tolerance()

EQUAL = [
    # numbers
    ("42", "42.0"), ("1,234", "1234"), ("0.5", r"\frac{1}{2}"), (r"\frac{6}{8}", "3/4"), ("2.5", r"2\frac{1}{2}"),
    ("1500", r"1.5\times10^{3}"), ("1500", "1.5e3"), ("0.0015", "1.5E-3"), (r"50\%", "50"),
    ("-3", "-3.000"), ("7", "+7"),
    # symbolic, from LaTeX and plain text
    (r"\frac{\pi}{2}", "pi/2"), (r"e^{16}", "exp(16)"), (r"\frac{\sqrt{2}}{2}", "sqrt(2)/2"),
    (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"), (r"\sqrt{1/n}", r"\frac{1}{\sqrt{n}}"), ("14 - i", "14-i"),
    ("3+4i", "4i+3"), (r"2\sqrt{3}", r"\sqrt{12}"), ("x^2+2x+1", "(x+1)^2"), ("x^2-1", "(x-1)(x+1)"),
    (r"\sin^2 x + \cos^2 x", "1"), (r"\frac{x}{2}", "0.5x"), (r"\ln 8", r"3\ln 2"), (r"\sqrt[3]{8}", "2"),
    (r"\binom{5}{2}", "10"), ("5!", "120"), (r"\frac{1}{2004!}", r"\frac{2005 \cdot 2006}{2006!}"),
    (r"\infty", "inf"), (r"\pi", r"\pi"), (r"2\pi r", "2 r pi"), ("0", "0.0"), ("|x|", "|-x|"),
    # structures
    (r"\{1, 2\}", r"\{2, 1\}"), (r"\{1, 2\}", "2, 1"), ("1, 2", r"\{2, 1\}"), ("(1, 2)", "(1,2)"),
    (r"(1, \frac{1}{2})", "(1, 0.5)"), (r"\pm 2", "2, -2"), (r"\pm 2", r"\{-2, 2\}"),
    (r"1 \pm \sqrt{2}", r"1-\sqrt{2}, 1+\sqrt{2}"), ("[2,5)", "[2, 5)"), (r"(-\infty, 3]", r"(-\infty,3]"),
    (r"(1,2) \cup (3,4)", r"(3,4) \cup (1,2)"), ("(2, 5)", "(2, 5)"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{bmatrix} 1 & 2 \\ 3 & \frac{8}{2} \end{bmatrix}"),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", "(1, 2)"),
    # equations and inequalities
    ("3", "x = 3"), ("x = 3", "3"), ("y = 2x + 1", "y = 1 + 2x"), ("y = 2x+1", "2x - y + 1 = 0"),
    ("x > 3", "3 < x"), (r"x \ge 3", r"3 \le x"), ("x > 3", r"(3, \infty)"), (r"x \le 3", r"(-\infty, 3]"),
    (r"1 < x \le 3", "(1, 3]"), (r"3 > x > 1", "1 < x < 3"), (r"x=1, x=2", r"\{1, 2\}"), ("x = 1, 2", "1, 2"),
    # choices and text
    ("(C)", "C"), ("C", "(C)"), (r"\text{Monday}", "monday"), (r"\text{yes}", "Yes"),
]

UNEQUAL = [
    # the default tolerance keeps these apart
    ("16386.20", "16386.21"), ("0.000001", "0.0000012"), ("50", "0.5"), ("50", r"5000\%"), ("1/3", "0.333"), (r"\pi", "3.14"),
    (r"\frac{\sqrt{2}}{2}", "0.7071"), ("1", "0.9999999"),
    # these fool popular graders
    (r"\frac{1}{2004!}", r"\frac{1}{2006!}"), (r"1/2^{99}", r"1/2^{98}"), ("1-1/e", "1+1/e"), ("[2,5)", "(2,5]"),
    (r"4\sqrt{2}", "4"),
    # other near misses
    ("x^2+2x+1", "(x-1)^2"), ("2x", "2y"), ("|x|", "x"), (r"\sqrt{x^2}", "x"), ("14 - i", "14 + i"),
    (r"\infty", r"-\infty"), (r"\infty", "10^{100}"), (r"e^{16}", "16e"),
    # structures: order, openness, sizes, kinds
    ("(1, 2)", "(2, 1)"), (r"\{1, 2\}", r"\{1, 2, 3\}"), (r"\{1, 2\}", "(1, 2)"), ("[2,5]", "[2,5)"),
    ("[2,5)", "(2,5)"), (r"(-\infty, 3]", r"(-\infty, 3)"), ("1", r"\{1, 2\}"), ("1", r"\{1\}"), ("1", "1, 2"),
    ("1", "1 or 2"), ("1", "x=1, x=2"), (r"\{1, 2\}", "1"), (r"\pm 2", "2"), (r"(1,2) \cup (3,4)", "(1,4)"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}"),
    (r"\begin{pmatrix} 1 & 2 \end{pmatrix}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
    # relations
    ("x > 3", r"x \ge 3"), ("x > 3", "x < 3"), ("x = 3", "y = 3"), ("y = 2x + 1", "y = 2x - 1"),
    ("x > 3", "3"), (r"1 < x \le 3", "(1, 3)"), ("x=1", "x=2"),
    # choices, text and mixed kinds
    ("(C)", "D"), ("C", "42"), (r"\text{Monday}", r"\text{Tuesday}"), ("5", r"\text{five}"), ("5", "x"),
]


@pytest.mark.parametrize("gold, pred", EQUAL)
def test_equal(gold, pred):
    assert equal(parse_answer(gold), parse_answer(pred), DEFAULT)


@pytest.mark.parametrize("gold, pred", EQUAL)
def test_equal_is_symmetric(gold, pred):
    assert equal(parse_answer(pred), parse_answer(gold), DEFAULT)


@pytest.mark.parametrize("gold, pred", UNEQUAL)
def test_unequal(gold, pred):
    assert not equal(parse_answer(gold), parse_answer(pred), DEFAULT)


@pytest.mark.parametrize("gold, pred", UNEQUAL)
def test_unequal_is_symmetric(gold, pred):
    assert not equal(parse_answer(pred), parse_answer(gold), DEFAULT)


@pytest.mark.parametrize("gold, pred, rel", [
    ("16386.20", "16386.21", 1e-6), ("1/3", "0.333", 1e-2), (r"\pi", "3.14", 1e-3), (r"\frac{\sqrt{2}}{2}", "0.7071", 1e-4),
])
def test_looser_tolerance_is_configurable(gold, pred, rel):
    assert equal(parse_answer(gold), parse_answer(pred), Tolerance(rel=rel))
    assert not equal(parse_answer(gold), parse_answer(pred), DEFAULT)


def test_absolute_tolerance_near_zero():
    assert not equal(parse_answer("0"), parse_answer("0.000001"), DEFAULT)
    assert equal(parse_answer("0"), parse_answer("0.000001"), Tolerance(abs=1e-5))


@pytest.mark.parametrize("gold, pred, stage", [
    ("1", "1.0", "number"), ("1", r"\sqrt{1}", "number"), (r"\sqrt{2}", "sqrt(2)", "symbolic"),
    ("(1,2)", "(1,2)", "structure"), ("C", "(C)", "choice"), (r"\text{yes}", "yes", "text"),
])
def test_stage_names(gold, pred, stage):
    assert stage_of(parse_answer(gold), parse_answer(pred)) == stage
