"""Math answers: extract the final answer, compare it with the reference. (Placeholder being replaced.)"""

from __future__ import annotations

from typing import ClassVar, Literal

from rewards.graders.base import PooledGrader, SpecBase
from rewards.types import Sample, Score


class MathSpec(SpecBase):
    type: Literal["math"] = "math"


def score(spec: MathSpec, sample: Sample) -> Score:
    ok = sample.completion.strip() == str(sample.reference).strip()
    return Score(reward=float(ok), details={"answer": sample.completion.strip()})


class MathGrader(PooledGrader[MathSpec]):
    spec_type: ClassVar = MathSpec
    score_fn = score
