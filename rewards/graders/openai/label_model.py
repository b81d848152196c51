"""OpenAI's `label_model`: a judge model picks one of `labels`; reward 1 when it is one of `passing_labels`.

See rewards.graders.openai.model for how the messages reach the judge.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewards.graders.openai.model import ModelGrader, ModelSpec
from rewards.judge import parse
from rewards.types import Score


class LabelModelSpec(ModelSpec):
    type: Literal["label_model"] = "label_model"
    labels: list[str] = Field(min_length=1, max_length=64, description="The labels the model chooses from.")
    passing_labels: list[str] = Field(min_length=1, max_length=64, description="The labels that earn reward 1.")

    @model_validator(mode="after")
    def _known(self) -> LabelModelSpec:
        if unknown := set(self.passing_labels) - set(self.labels):
            raise ValueError(f"passing_labels not in labels: {sorted(unknown)}")
        return self

    def judge_fields(self) -> dict[str, Any]:
        return {"mode": "labels", "labels": self.labels, "passing_labels": self.passing_labels}


class LabelModelGrader(ModelGrader[LabelModelSpec]):
    spec_type: ClassVar = LabelModelSpec
    version = "1"

    def instruction(self) -> str:
        return (f"Answer with exactly one of these labels: {', '.join(self.spec.labels)}. Give it on the last line "
                'in this format: "[[label]]".')

    def verdict(self, text: str) -> Score:
        label = parse.parse_label(text, self.spec.labels)
        if label is None:
            return Score.failed("unparseable judge output", judge_output=text)
        return Score(reward=float(label in self.spec.passing_labels), details={"label": label, "judge_output": text})
