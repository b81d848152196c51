"""The two objects every grader speaks: a sample in, a score out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from sandbox.models import MAX_DEPTH, clean, clean_text

TIMEOUT_KEY = "timeout"  # details[TIMEOUT_KEY] is True on a score whose sample ran past its budget


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
    version: str | None = Field(default=None, description="The version of the grader that gave this score "
                                "(set by the service; a multi's names its parts').")

    @classmethod
    def wrong(cls, reason: str, **details: Any) -> Score:
        """Bad model output (unparseable, wrong, breaking a rule): reward 0, the reason in `details`."""
        return cls(reward=0.0, details={"reason": reason, **details})

    @classmethod
    def timed_out(cls, budget_s: float, reason: str | None = None, **details: Any) -> Score:
        """Model output too slow to check within `budget_s`: reward 0 with `details.timeout`, not an error.

        Counted apart (metrics, the trainer's warnings) through `is_timeout`.
        """
        because = {"reason": reason} if reason else {}
        return cls(reward=0.0, details={TIMEOUT_KEY: True, "timeout_s": budget_s, **because, **details})

    @classmethod
    def failed(cls, error: str, **details: Any) -> Score:
        """A machinery failure (sandbox down, judge unreachable, a grader bug): not a real 0, trainers drop it."""
        return cls(reward=0.0, details=details, error=error)

    @property
    def is_timeout(self) -> bool:
        """Whether grading gave up on this sample at its time budget (see `timed_out`)."""
        return self.details.get(TIMEOUT_KEY) is True
