"""A prompt with what its completion is graded against: what tasks make and data loaders read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """One prompt and what the grader compares the completion with; `response` only for SFT data."""

    prompt: str
    reference: Any = None
    response: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
