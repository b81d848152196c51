"""Several graders weighed into one reward by a formula. (Placeholder being replaced.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rewards.graders.base import Grader, SpecBase
from rewards.types import Sample, Score

if TYPE_CHECKING:
    GraderSpec = Any


class MultiSpec(SpecBase):
    type: Literal["multi"] = "multi"
    graders: dict[str, GraderSpec]
    formula: str


class MultiGrader(Grader[MultiSpec]):
    spec_type: ClassVar = MultiSpec

    async def grade(self, samples: list[Sample]) -> list[Score]:
        raise NotImplementedError
