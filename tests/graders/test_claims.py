"""Arithmetic claims in reasoning steps, step splitting and aggregation."""

import pytest

from rewards.graders.claims import check_claims, claimed_equalities
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
    ("1 = 1, 2 = 2, 8+2=10, 8+2=10", [True]),  # trivial and repeated claims earn nothing
    (r"\frac{1}{0} = 5", []),
    ("2^{2^{2^{2^{50}}}} = 5", []),  # too large to decide: not a claim
])
def test_claims(text, verdicts):
    assert [c.holds for c in check_claims(text)] == verdicts


def test_chain_pairs():
    assert claimed_equalities("a = 2 + 3 = 5 = 6") == [("a", "2 + 3"), ("2 + 3", "5"), ("5", "6")]


@pytest.mark.parametrize(("split", "text", "steps"), [
    ("\n\n", "a\n\nb\n\n\n\nc", ["a", "b", "c"]),
    ("\n", "a\nb\n\nc", ["a", "b", "c"]),
    ("step_k", "Step 1: a\nmore\nStep 2: b", ["Step 1: a\nmore", "Step 2: b"]),
    ("step_k", "Intro.\n## Step 1. a\nstep 2) b", ["Intro.", "## Step 1. a", "step 2) b"]),
    (r";\s*", "a; b;c", ["a", "b", "c"]),
    (r"(;)", "a;b", ["a", "b"]),
])
def test_split(split, text, steps):
    assert split_steps(text, split) == steps


@pytest.mark.parametrize(("how", "expected"), [("min", 0.5), ("last", 1.0), ("mean", 0.75), ("product", 0.5)])
def test_aggregate(how, expected):
    assert aggregate([None, 0.5, None, 1.0], how) == pytest.approx(expected)
    assert aggregate([None], how) is None
