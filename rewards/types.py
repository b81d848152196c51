"""The two objects every grader speaks: a sample in, a score out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Sample(BaseModel):
    """One completion to grade, with what the grader may compare it against."""

    prompt: str = ""
    completion: str
    reference: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Score(BaseModel):
    """A grader's verdict.

    `reward` is what reaches a loss. `error` is set only when the machinery failed (sandbox down,
    judge unreachable): such a score is not a real 0 and trainers drop it. Bad model output is
    never an error: it earns 0 with the reason in `details`.
    """

    reward: float = 0.0
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failed(cls, error: str, **details: Any) -> Score:
        return cls(reward=0.0, details=details, error=error)
