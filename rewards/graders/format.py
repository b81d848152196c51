"""Format checks on a completion's shape. (Placeholder being replaced.)"""

from __future__ import annotations

from typing import ClassVar, Literal

from rewards.graders.base import PooledGrader, SpecBase
from rewards.types import Sample, Score


class FormatSpec(SpecBase):
    type: Literal["format"] = "format"


def score(spec: FormatSpec, sample: Sample) -> Score:
    return Score(reward=1.0 if sample.completion else 0.0)


class FormatGrader(PooledGrader[FormatSpec]):
    spec_type: ClassVar = FormatSpec
    score_fn = score
