"""The arithmetic process grader through a real worker pool."""

import pytest

from rewards.graders import parse_spec
from rewards.graders.base import GraderContext
from rewards.graders.process import ProcessGrader
from rewards.pool import WorkerPool
from rewards.types import Sample


@pytest.fixture
async def pool():
    pool = WorkerPool(size=2)
    await pool.start()
    yield pool
    await pool.close()


async def grade(pool, completions, **spec):
    grader = ProcessGrader(parse_spec({"type": "process", "scorer": "arithmetic", **spec}),
                           GraderContext(pool=pool, default_timeout_s=10))
    return await grader.grade([Sample(completion=c) for c in completions])


async def test_error_is_caught_at_its_step(pool):
    good = "We have 8 apples and get 2 more: 8 + 2 = 10.\n\nWe eat 5: 10 - 5 = 5.\n\nSo 5 remain."
    bad = "We have 8 apples and get 2 more: 8 + 2 = 10.\n\nWe eat 5: 8 + 2 - 5 = 0.\n\nSo 0 remain."
    scores = await grade(pool, [good, bad])
    assert scores[0].reward == 1.0 and scores[0].error is None
    assert scores[1].reward == 0.0
    steps = scores[1].details["steps"]
    assert [s["score"] for s in steps] == [1.0, 0.0, None]
    assert scores[1].details["false_claims"] == [{"step": 1, "claim": "8 + 2 - 5 = 0"}]


async def test_fraction_per_step_and_aggregates(pool):
    text = r"Step 1: 42 = 6 \cdot 7 = 43" + "\nStep 2: 2 + 2 = 4"
    (mean,) = await grade(pool, [text], split="step_k", aggregate="mean")
    (last,) = await grade(pool, [text], split="step_k", aggregate="last")
    assert [s["score"] for s in mean.details["steps"]] == [0.5, 1.0]
    assert mean.reward == 0.75 and last.reward == 1.0


@pytest.mark.parametrize("completion", [
    "", "No numbers here at all.", "1 = 1\n\n2 = 2\n\n3 = 3", "x = 5", "=" * 5000, "\\frac{" * 3000,
])
async def test_nothing_checkable_earns_zero(pool, completion):
    (score,) = await grade(pool, [completion])
    assert score.reward == 0.0 and score.error is None


async def test_huge_work_times_out_to_zero(pool):
    slow = "\n\n".join(f"(x+{i})^{{30}} = x^{{30}} + {i}" for i in range(1, 200))  # seconds of simplify()
    grader = ProcessGrader(parse_spec({"type": "process", "scorer": "arithmetic", "timeout_s": 0.5}),
                           GraderContext(pool=pool, default_timeout_s=10))
    (score,) = await grader.grade([Sample(completion=slow)])
    assert score.reward == 0.0 and score.error is None and score.details["timeout"] is True


def test_bad_specs_are_rejected():
    from pydantic import ValidationError

    for bad in ({"scorer": "model"}, {"scorer": "arithmetic", "split": "("}, {"scorer": "arithmetic", "aggregate": "max"}):
        with pytest.raises(ValidationError):
            parse_spec({"type": "process", **bad})
