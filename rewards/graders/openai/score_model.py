"""OpenAI's `score_model`: a judge model gives a number within `range` (default [0, 1]).

As OpenAI defines it, the reward is that number as given (not rescaled to [0, 1]), and `details.passed`
says whether it reached `pass_threshold` when one is set. See rewards.graders.openai.model for how the
messages reach the judge.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewards.graders.openai.model import ModelGrader, ModelSpec
from rewards.judge import parse
from rewards.types import Score


class ScoreModelSpec(ModelSpec):
    type: Literal["score_model"] = "score_model"
    range: tuple[float, float] = Field(default=(0.0, 1.0), description="The lowest and highest score.")
    pass_threshold: float | None = Field(default=None, description="details.passed is whether the score reaches it.")

    @model_validator(mode="after")
    def _ordered(self) -> ScoreModelSpec:
        if not self.range[0] < self.range[1]:
            raise ValueError("range must be [low, high] with low < high")
        return self

    def judge_fields(self) -> dict[str, Any]:
        return {"mode": "rubric", "scale": self.range}


class ScoreModelGrader(ModelGrader[ScoreModelSpec]):
    spec_type: ClassVar = ScoreModelSpec
    version = "1"

    def instruction(self) -> str:
        low, high = self.spec.range
        return (f"Give your score, a number from {low:g} to {high:g}, strictly in this format on the last line: "
                '"Rating: [[N]]".')

    def verdict(self, text: str) -> Score:
        low, high = self.spec.range
        value = parse.parse_rating(text, low, high)
        if value is None:
            return Score.failed("unparseable judge output", judge_output=text)
        details: dict[str, Any] = {"score": value, "judge_output": text}
        if self.spec.pass_threshold is not None:
            details["passed"] = value >= self.spec.pass_threshold
        return Score(reward=value, details=details)
