"""Arithmetic claims in reasoning steps: reading them from real step text, judging them, counting them as work;
step splitting and aggregation."""

import pytest
import sympy

from rewards.graders.claims import check_claims, claimed_equalities, is_trivial, numbers_in
from rewards.graders.steps import aggregate, split_steps


@pytest.mark.parametrize(("text", "verdicts"), [
    ("8 + 2 = 10", [True]),
    ("8 + 2 - 5 = 0", [False]),
    ("10 - 5 = 0", [False]),
    (r"$\frac{6}{4} = 1.5$", [True]),
    (r"42 = 6 \cdot 7 = 43", [True, False]),
    ("3 × 4 = 12 apples, and 12 ÷ 4 = 3", [True, True]),
    ("1,000 + 5 = 1,005", [True]),
    ("1/3 = 0.333", [True]),
    ("1/3 = 0.5", [False]),
    ("2x + 3x = 5x", [True]),
    ("(a+1)^2 = a^2 + 2a + 1", [True]),
    ("So x = 5.", []),  # an equation to solve, not a checkable claim
    ("x + 1 = 7", []),
    ("The answer is 12.", []),
    ("1 = 1, 2 = 2, 8+2=10, 8+2=10", [True]),  # claims written the same on both sides, and repeats, are dropped
    (r"\frac{1}{0} = 5", []),
    ("2^{2^{2^{2^{50}}}} = 5", []),  # too large to decide: not a claim
    ("10^{50} + 1 = 10^{50}", [False]), ("100000000000000000000000000000000000000000000000001 = 10^{50}", [False]),
    ("e^{1000} + 1 - e^{1000} = 0", [False]), (r"\exp(100000) = 1^{\exp(100000)} + i", [False]),
    # multiplication signs models write
    ("6 x 7 = 43", [False]), ("6 × 7 = 43", [False]), ("6*7 == 43", [False]), ("6 X 7 = 42", [True]),
    ("3 times 4 = 12", [True]), ("6 \\times 7 = 43", [False]), ("6 \\cdot 7 = 42", [True]),
    # irrational values written as decimals: right when rounded or truncated to the digits written
    (r"\sqrt{2} = 1.414", [True]), (r"2\pi = 6.28", [True]), ("e^{2} = 7.389", [True]), (r"\pi = 3.14", [True]),
    ("2/3 = 0.666", [True]), ("2/3 = 0.667", [True]), (r"\pi = 3.15", [False]), (r"\sqrt{2} = 1.41", [True]),
    (r"\sqrt{2} = 1.42", [False]), (r"\sqrt{2} = 1", [False]), ("0.3 = 0.33", [False]),
    (r"\sin(\pi/12) = \frac{\sqrt{6} - \sqrt{2}}{4}", [True]),  # equal, though sympy cannot simplify it to 0
    # functions, mixed numbers, brackets, separators, units, currency, percent, degrees
    (r"\cos(0) = 1", [True]), (r"\cos(0) = 2", [False]), (r"\log_2 8 = 3", [True]), (r"\binom{5}{2} = 10", [True]),
    (r"1\frac{1}{2} = 1.5", [True]), (r"2\frac{3}{4} = \frac{11}{4}", [True]),
    (r"\left(3+4\right) \times 2 = 14", [True]), ("The area is 1{,}000 + 1\\,000 = 2000.", [True]),
    ("$1,234 + $6 = $1,240", [True]), (r"\$1.24 - \$0.50 = \$0.74", [True]), ("5 cm + 3 cm = 8 cm", [True]),
    (r"6 \cdot 7 = 42 cm^2", [True]), (r"5 \text{ cm} + 3 \text{ cm} = 9 \text{ cm}", [False]),
    ("2 hours = 120 minutes", []),  # a unit conversion: not checked
    ("20% of 50 = 10", [True]), (r"20\% \cdot 50 = 12", [False]), (r"\sin 30^\circ = \frac{1}{2}", [True]),
    (r"\tan(45^{\circ}) = 1", [True]), (r"\sin(30) = 0.5", [True]), (r"\sin(30) = 0.7", [False]),
    ("x = 5 squared = 25", [True]), ("3 million = 3,000,000", [True]),
    (r"We get $\frac{3}{4} \cdot 8 = 6$ cups.", [True]),
    # `e` as a variable, and assignments, are not claims
    ("So e = 37.", []), ("The first equation is 3p + e = 124.", []), ("$5p+e-3p-e=1.82-1.24$.", []),
    # text cutting through an expression: no side is guessed
    ("a third of 60 = 20", []), ("25 = 5 to the power 2", []),
])
def test_claims(text, verdicts):
    assert [c.holds for c in check_claims(text)] == verdicts


# steps in the style of PRM800K (MATH solutions cut into steps), with the claims an arithmetic check must find
PRM_STYLE = [
    ("So, for the three groups, there are (3-1)! = 2! = 2 ways to arrange them around the circle.", [True, True]),
    ("That gives me 2 x 60 x 60 x 1 = 7200 ways.", [True]),
    ("So, there are 5!/2 = 60 ways to order the Democrats around a circle.", [True]),
    (r"Then $5p+e-3p-e=1.82-1.24$, so $2p=0.58$.", []),
    (r"The discriminant is $b^2 - 4ac = 5^2 - 4 \cdot 1 \cdot 6 = 25 - 24 = 1$.", [True, True]),
    (r"So the sum is $\frac{n(n+1)}{2} = \frac{100 \cdot 101}{2} = 5050$.", [True]),
    (r"I multiply: $12 \times 15 = 170$, so the area is 170 square units.", [False]),
    (r"This means $\sqrt{50} = 5\sqrt{2} \approx 7.07$.", [True]),
    (r"Since $\cos 60^\circ = \frac{1}{2}$, the angle is $60^\circ$.", [True]),
    (r"The probability is $\dfrac{3}{8} = 0.375$, or $37.5\%$.", [True]),
    (r"The $n$th term is $a_n = 3 + (n-1) \cdot 4$, so $a_{10} = 3 + 9 \cdot 4 = 39$.", [True]),
    (r"Adding gives $\left(\frac{1}{2}\right)^2 + \left(\frac{1}{3}\right)^2 = \frac{13}{36}$.", [True]),
    ("# Answer\n\n7200", []),
]

# steps in the style of GSM8K solutions (human and model), each a sibling found by running the checker on them
GSM_STYLE = [
    ("So the team lost 31 – 9 = 22 games.", [True]),  # an en dash as minus
    ("Since a quarter is 25 cents, 12 quarters is 12 x 25 = 300 cents.", [True]),
    ("A quarter is 25 cents, so 12 quarters = 12 x 25 = 300 cents.", []),  # a chain through units: a conversion
    ("Each box holds 3 dozen, so she needs 48/12 = 4 dozen eggs.", [True]),
    ("Each hour it changed: -24/4 = -6 degrees.", [True]),  # degrees of temperature, no trig
    ("The markup is 27 / 300 x 100 = 9%", [True]), ("25% of 80 students = 20 students.", [True]),
    ("6 children drank 2.5 cups = 6 * 2.5 = 15 cups", [True]),  # `drank 2.5 cups` names a quantity
    ("They ate a total of 4 + 5 + 6 = 15 slices.", [True]), ("It now costs $330 because 220 x 1.5 = 330", [True]),
    ("She collected 70 liters of rain + 3 x 20 liters = 130 liters.", []),  # `+ 3 x 20` is cut from its start
    ("There were forty - 15 - 5 = 20 sunny days.", []), ("The show ran from 7:00 - 2:00 = 5 hours", []),
    ("The fee is $240 000 x 5/100 = $12 000.", [True]), ("So he has $45 - $30 = $150 left.", [False]),
    ("That is 5/3 = 1.6666666666666665 pies each.", [True]), ("That is 7/3 = 2.3333333333333355 pies each.", [False]),
    ("They eat 8*6=48 apples a week", [True]), ("He earns $9.00 per hour - $4.00 per 2 shirts = $5.00", []),
    ("She works 40 weeks/year * 30 hours/week = 1200 hours/year.", [True]),  # units inside a computation go
    ("She is paid $15/hour * 4 hours = $60", [True]), ("so that's 9/4 = $2.25 per muffin", [True]),
    ("then she had 310+25=335 Post-it notes.", [True]),  # a hyphenated word after a number is not a unit
    ("for his 18 classmates + his 1 teacher + 1 aide = 20 people.", []),  # the sum started before the prose
    ("The alarm rang 2 * 4 = 8 times as long.", [True]), ("1 hour = 60", []), ("3 feet = 36 inches", []),
]


@pytest.mark.parametrize(("text", "verdicts"), GSM_STYLE)
def test_gsm_style_steps(text, verdicts):
    assert [c.holds for c in check_claims(text)] == verdicts


@pytest.mark.parametrize(("text", "verdicts"), PRM_STYLE)
def test_prm_style_steps(text, verdicts):
    assert [c.holds for c in check_claims(text)] == verdicts


def test_chain_pairs():
    assert claimed_equalities("a = 2 + 3 = 5 = 6") == [("a", "2 + 3"), ("2 + 3", "5"), ("5", "6")]


@pytest.mark.parametrize(("lhs", "rhs", "trivial"), [
    ("1", "1.0", True), ("1+0", "1", True), (r"8 \cdot 1", "8", True), (r"0 \cdot 5", "0", True),
    ("5 - 5", "0", True), ("1^{100}", "1", True), ("a + 0", "a", True), ("x \\cdot 1", "x", True),
    ("8 + 2", "10", False), ("10 - 5", "5", False), ("4 - 2", "2", False), ("1 + 1", "2", False),
    (r"\sqrt{2}", "1.414", False), ("(a+1)^2", "a^2 + 2a + 1", False), (r"\frac{1}{2} + \frac{1}{3}", r"\frac{5}{6}", False),
])
def test_trivial_claims_do_no_work(lhs, rhs, trivial):
    assert is_trivial(lhs, rhs) is trivial


def test_a_claim_counts_when_tied_to_the_problem_or_an_earlier_result():
    known, seen = numbers_in("Tom has 8 apples and buys twelve more. He eats 5."), set()
    assert known == {sympy.Integer(n) for n in (8, 12, 5)}
    steps = ["8 + 12 = 20", "20 - 5 = 15", "1 + 1 = 2", "2 + 4 = 6", "8 + 12 = 20", "1 + 0 = 1", "15 + 0 = 15"]
    counted = [[(c.counted, c.why) for c in check_claims(step, known, seen)] for step in steps]
    assert counted == [[(True, "")], [(True, "")], [(False, "unrelated")], [(False, "unrelated")],
                       [(False, "repeated")], [(False, "trivial")], [(False, "trivial")]]
    # the unrelated `1 + 1 = 2` added nothing to build on
    assert sympy.Integer(2) not in known and sympy.Integer(20) in known


def test_false_claims_never_count_whatever_they_are_tied_to():
    (claim,) = check_claims("8 + 2 = 11", {sympy.Integer(8)}, set())
    assert claim.holds is False and claim.counted is False


@pytest.mark.parametrize("text", [
    "=" * 5000, "\\frac{" * 3000, "1" * 5000 + " = 1", "(" * 500 + "1" + ")" * 500 + " = 1", "9^{9^{9^9}} = 1",
    "e^{10^{10}} = 1", r"\sin(10^{100}) = 0.5", "10^{10^{6}} = 10^{10^{6}} + 1", "1e999 = 1", "\\sqrt{-1} = i",
    r"\exp(100000) = 1^\exp(100000) + i", "x^{10^{400}} = 2", r"(1 - \exp(100000)) \cdot 10^{400} = 3.5",
    r"10^{-5} = (\sin(30) / e^{1000}) x (3.5*2) + 0.333 - \binom{5}{2}", "a^{100000} + b = b + a^{100000}",
])
def test_hostile_text_never_raises(text):
    check_claims(text, set(), set())


@pytest.mark.parametrize(("split", "text", "steps"), [
    ("\n\n", "a\n\nb\n\n\n\nc", ["a", "b", "c"]),
    ("\n", "a\nb\n\nc", ["a", "b", "c"]),
    ("step_k", "Step 1: a\nmore\nStep 2: b", ["Step 1: a\nmore", "Step 2: b"]),
    ("step_k", "Intro.\n## Step 1. a\nstep 2) b", ["Intro.", "## Step 1. a", "step 2) b"]),
    (r";\s*", "a; b;c", ["a", "b", "c"]),
    (r"(;)", "a;b", ["a", "b"]),
    # a trailing separator, or a part with nothing in it, makes no step
    ("step_k", "Step 1: a\nStep 2:", ["Step 1: a"]),
    ("step_k", "Step 1: a\n**Step 2:**\n", ["Step 1: a"]),
    ("\n", "a\n\u200b\n\u2060", ["a"]),
    ("\n\n", "a\n\n---\n\n", ["a"]),
    (r"\s*ки\s*", "a ки b ки", ["a", "b"]),
])
def test_split(split, text, steps):
    assert split_steps(text, split) == steps


@pytest.mark.parametrize(("how", "expected"), [("min", 0.5), ("last", 1.0), ("mean", 0.75), ("product", 0.5)])
def test_aggregate(how, expected):
    assert aggregate([None, 0.5, None, 1.0], how) == pytest.approx(expected)
    assert aggregate([None], how) is None
