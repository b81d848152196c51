"""Several graders weighed into one reward by a formula, e.g. `0.9*acc + 0.1*fmt`.

Sub-graders run concurrently on the same samples; their scores are returned in details. A
sub-score with an `error` (machinery failure) makes the combined score an error too, never a number.
"""

from __future__ import annotations

import asyncio
import keyword
import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewards.graders.base import Grader, GraderContext, SpecBase
from rewards.graders.formula import FUNCTIONS, parse_formula
from rewards.types import Sample, Score

if TYPE_CHECKING:
    GraderSpec = Any


class MultiSpec(SpecBase):
    """Named sub-grader specs and the formula that combines their rewards.

    A `timeout_s` here is the budget of every sub-grader that sets none of its own.
    """

    type: Literal["multi"] = "multi"
    graders: dict[str, GraderSpec] = Field(
        min_length=1, max_length=16, description="Sub-graders by name; each name must be used in the formula."
    )
    formula: str = Field(
        description="Arithmetic over grader names: numbers, + - * /, min(...), max(...), parentheses."
    )

    def resources(self) -> list[str]:
        return [r for spec in self.graders.values() for r in spec.resources()]

    @model_validator(mode="after")
    def _formula_fits(self) -> MultiSpec:
        for name in self.graders:
            if not name.isidentifier() or keyword.iskeyword(name) or name in FUNCTIONS:
                raise ValueError(f"grader name {name!r} must be an identifier other than a keyword, min or max")
        unused = set(self.graders) - parse_formula(self.formula, self.graders).names
        if unused:
            raise ValueError(f"graders not used in the formula: {sorted(unused)}")
        return self


class MultiGrader(Grader[MultiSpec]):
    """Runs the sub-graders through the context's builder and combines their rewards per sample."""

    spec_type: ClassVar = MultiSpec
    version = "1"

    def __init__(self, spec: MultiSpec, context: GraderContext) -> None:
        super().__init__(spec, context)
        self.formula = parse_formula(spec.formula, spec.graders)
        self.subspecs = {
            name: sub.model_copy(update={"timeout_s": spec.timeout_s}) if sub.timeout_s is None else sub
            for name, sub in spec.graders.items()
        }

    async def grade(self, samples: list[Sample]) -> list[Score]:
        names = list(self.spec.graders)
        columns = await asyncio.gather(*(self._grade_with(name, samples) for name in names))
        return [self._combine(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]

    async def _grade_with(self, name: str, samples: list[Sample]) -> list[Score]:
        """One sub-grader's scores; its failure becomes an error on each sample."""
        if self.context.build is None:
            raise RuntimeError("the multi grader needs GraderContext.build")
        try:
            grader = await self.context.build(self.subspecs[name])
            scores = await grader.grade(samples)
        except Exception as exc:  # noqa: BLE001 - a sub-grader failure is a machinery failure
            return [Score.failed(f"{type(exc).__name__}: {exc}"[:500]) for _ in samples]
        if len(scores) != len(samples):
            return [Score.failed(f"returned {len(scores)} scores for {len(samples)} samples") for _ in samples]
        return scores

    def _combine(self, scores: dict[str, Score]) -> Score:
        details: dict[str, Any] = {"graders": {name: score.model_dump() for name, score in scores.items()}}
        errors = [f"{name}: {score.error}" for name, score in scores.items() if score.error is not None]
        if errors:
            return Score.failed("; ".join(errors)[:1000], **details)
        try:
            reward = self.formula.evaluate({name: score.reward for name, score in scores.items()})
        except ZeroDivisionError:
            return Score.wrong("division by zero in the formula", **details)
        if not math.isfinite(reward):
            return Score.wrong(f"the formula gave {reward}", **details)
        return Score(reward=reward, details=details)
