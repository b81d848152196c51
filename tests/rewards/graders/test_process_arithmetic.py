"""The arithmetic process grader through a real worker pool."""

import pytest

from rewards.graders import parse_spec
from rewards.graders.base import GraderContext
from rewards.graders.process import ProcessGrader
from rewards.pool import WorkerPool
from rewards.types import Sample

APPLES = "Tom has 8 apples and gets 2 more. Then he eats 5. How many are left?"
AGGREGATES = ("min", "last", "mean", "product")


@pytest.fixture
async def pool():
    pool = WorkerPool(size=2)
    await pool.start()
    yield pool
    await pool.close()


async def grade(pool, completions, prompt=APPLES, **spec):
    grader = ProcessGrader(parse_spec({"type": "process", "scorer": "arithmetic", **spec}),
                           GraderContext(pool=pool, default_timeout_s=10))
    return await grader.grade([Sample(prompt=prompt, completion=c) for c in completions])


async def test_error_is_caught_at_its_step(pool):
    good = "We have 8 apples and get 2 more: 8 + 2 = 10.\n\nWe eat 5: 10 - 5 = 5.\n\nSo 5 remain."
    bad = "We have 8 apples and get 2 more: 8 + 2 = 10.\n\nWe eat 5: 8 + 2 - 5 = 0.\n\nSo 0 remain."
    scores = await grade(pool, [good, bad])
    assert scores[0].reward == 1.0 and scores[0].error is None
    assert scores[1].reward == 0.0
    steps = scores[1].details["steps"]
    assert [s["score"] for s in steps] == [1.0, 0.0, None]
    assert scores[1].details["false_claims"] == [{"step": 1, "claim": "8 + 2 - 5 = 0"}]


async def test_a_step_with_a_false_claim_is_wrong(pool):
    text = "Step 1: 8 + 2 = 10\nStep 2: 10 = 2 \\cdot 5 = 11\nStep 3: 10 - 5 = 5"
    for how, expected in (("mean", 2 / 3), ("last", 1.0), ("min", 0.0), ("product", 0.0)):
        (score,) = await grade(pool, [text], split="step_k", aggregate=how)
        assert [s["score"] for s in score.details["steps"]] == [1.0, 0.0, 1.0]
        assert score.reward == pytest.approx(expected), how


@pytest.mark.parametrize("completion", [
    "", "No numbers here at all.", "1 = 1\n\n2 = 2\n\n3 = 3", "x = 5", "=" * 5000, "\\frac{" * 3000,
    "The sum is 17\n\n1 + 1 = 2\n\n\\boxed{17}",  # true but unrelated to the problem
    "1 = 1.0\n\n1+0 = 1\n\na = a + 0\n\n8 \\cdot 1 = 8\n\n5 - 5 = 0\n\n\\boxed{5}",  # trivial
])
async def test_nothing_that_counts_earns_zero(pool, completion):
    (score,) = await grade(pool, [completion])
    assert score.reward == 0.0 and score.error is None and score.details["reason"]


# true claims that do no work for APPLES (trivial, or computing with none of its numbers), and empty steps
PADDING = ["1 + 1 = 2", "1 = 1.0", "8 \\cdot 1 = 8", "a = a + 0", "3 \\cdot 3 = 9\n\n9 - 3 = 6", "Step 9:", "\u200b",
           "10 + 0 = 10", "\\frac{1}{3} = 0.333", "1 + 3 = 4 = 7 - 3 = 12 / 3"]


@pytest.mark.parametrize("how", AGGREGATES)
async def test_padding_never_raises_the_reward(pool, how):
    """Padding anywhere lifts no aggregate; nor does repeating a counted claim after a wrong step."""
    cases = [("8 + 2 = 10\n\n10 - 5 = 6\n\n\\boxed{6}", PADDING + ["8 + 2 = 10", "8 + 2 = 10\n\n8+2=10"]),
             ("8 + 2 = 10\n\n10 - 5 = 5\n\n\\boxed{5}", PADDING + ["8 + 2 = 10"]),
             ("The answer is \\boxed{5}", PADDING)]
    for base, pads in cases:
        (plain,) = await grade(pool, [base], aggregate=how)
        parts = base.split("\n\n")
        padded = [base + "\n\n" + pad for pad in pads] + ["\n\n".join([pad, *parts]) for pad in pads]
        padded += ["\n\n".join([parts[0], pad, *parts[1:]]) for pad in pads]
        for text, score in zip(padded, await grade(pool, padded, aggregate=how), strict=True):
            assert score.reward <= plain.reward, (how, text, score.details)


async def test_rounded_and_irrational_claims_are_judged_not_crashed(pool):
    prompt = "Give $\\sqrt{2}$, $2\\pi$ and $e^2$ to a few decimals."
    right = "\\sqrt{2} = 1.414\n\n2\\pi = 6.28\n\ne^{2} = 7.389"
    wrong = "\\sqrt{2} = 1.414\n\n2\\pi = 6.38\n\ne^{2} = 7.389"
    scores = await grade(pool, [right, wrong], prompt=prompt)
    assert [s.reward for s in scores] == [1.0, 0.0] and all(s.error is None for s in scores)
    assert [s["score"] for s in scores[1].details["steps"]] == [1.0, 0.0, 1.0]


async def test_multiplication_signs_are_checked(pool):
    prompt = "What is 6 times 7?"
    scores = await grade(pool, ["6 x 7 = 43", "6 × 7 = 43", "6*7 == 43", "6 x 7 = 42", "6 \\times 7 = 42"], prompt=prompt)
    assert [s.reward for s in scores] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert scores[0].details["false_claims"] == [{"step": 0, "claim": "6 \\times 7 = 43"}]


async def test_without_a_prompt_nothing_is_tied_to_the_problem(pool):
    (score,) = await grade(pool, ["8 + 2 = 10\n\n10 - 5 = 5"], prompt="")
    assert score.reward == 0.0 and "no prompt" in score.details["reason"]


async def test_a_trailing_separator_makes_no_step(pool):
    (score,) = await grade(pool, ["Step 1: 8 + 2 = 10\nStep 2:"], split="step_k", aggregate="mean")
    assert [s["text"] for s in score.details["steps"]] == ["Step 1: 8 + 2 = 10"] and score.reward == 1.0


async def test_huge_work_times_out_to_zero(pool):
    slow = "\n\n".join(f"\\sqrt{{{i}}} \\cdot {i} = {i}^{{1.5}} = {i + 1}" for i in range(1, 5000))  # seconds of checks
    grader = ProcessGrader(parse_spec({"type": "process", "scorer": "arithmetic", "timeout_s": 0.5}),
                           GraderContext(pool=pool, default_timeout_s=10))
    (score,) = await grader.grade([Sample(prompt="Expand (x+1)^30.", completion=slow)])
    assert score.reward == 0.0 and score.error is None and score.details["timeout"] is True


def test_bad_specs_are_rejected():
    from pydantic import ValidationError

    for bad in ({"scorer": "model"}, {"scorer": "arithmetic", "split": "("}, {"scorer": "arithmetic", "aggregate": "max"}):
        with pytest.raises(ValidationError):
            parse_spec({"type": "process", **bad})
