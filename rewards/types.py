"""The two objects every grader speaks: a sample in, a score out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from sandbox.models import MAX_DEPTH, clean, clean_text


class Sample(BaseModel):
    """One completion to grade, with what the grader may compare it against.

    Lone surrogates (JSON can carry them, UTF-8 cannot) become U+FFFD, so one odd completion cannot make
    a batch's answer unrenderable; a reference or metadata nested deeper than MAX_DEPTH is refused.
    """

    prompt: str = ""
    completion: str
    reference: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("prompt", "completion")
    @classmethod
    def _valid_text(cls, text: str) -> str:
        return clean_text(text)

    @field_validator("reference", "metadata")
    @classmethod
    def _valid_data(cls, value: Any) -> Any:
        return clean(value, MAX_DEPTH)


class Score(BaseModel):
    """A grader's verdict.

    `reward` is what reaches a loss. `error` is set only when the machinery failed (sandbox down,
    judge unreachable): such a score is not a real 0 and trainers drop it. Bad model output is
    never an error: it earns 0 with the reason in `details`.
    """

    reward: float = Field(default=0.0, allow_inf_nan=False)  # a NaN reward from a grader is its error
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failed(cls, error: str, **details: Any) -> Score:
        return cls(reward=0.0, details=details, error=error)
