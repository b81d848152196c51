"""Format checks on a completion's shape: tags, regex, JSON, length, string_check, similarity, repetition.

A spec lists checks (see `format_checks`) and how to combine their scores into one reward:
`mean` (weighted partial credit), `all` (1 only if every check passes) or `min`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewards.graders.base import PooledGrader, SpecBase
from rewards.graders.format_checks import Check, CheckBase, GradedCheck, TagsCheck
from rewards.types import Sample, Score


def _default_checks() -> list[Check]:
    return [TagsCheck()]


class FormatSpec(SpecBase):
    """Which checks to run and how to combine them."""

    type: Literal["format"] = "format"
    checks: list[Check] = Field(
        default_factory=_default_checks, min_length=1, max_length=32,
        description="Checks, each {'kind': ...}; by default the think/answer tags check.",
    )
    aggregate: Literal["mean", "all", "min"] = Field(
        default="mean",
        description="mean: weighted mean of check scores (partial credit); all: 1 if every check scores 1, else 0; "
        "min: the lowest check score.",
    )
    max_chars: int = Field(
        default=100_000, ge=1, le=10_000_000, description="Longer completions score 0 without being checked."
    )

    @model_validator(mode="after")
    def _combinable(self) -> FormatSpec:
        if self.aggregate == "mean" and not any(check.weight > 0 for check in self.checks):
            raise ValueError("aggregate 'mean' needs at least one check with weight > 0")
        if self.aggregate == "all":
            for check in self.checks:
                if isinstance(check, GradedCheck) and check.threshold is None:
                    raise ValueError(f"aggregate 'all' needs a threshold on the {check.kind!r} check")
        return self


def combine(aggregate: str, checks: Sequence[CheckBase], scores: list[float]) -> float:
    """One reward from the check scores."""
    if aggregate == "all":
        return float(all(s == 1.0 for s in scores))
    if aggregate == "min":
        return min(scores)
    total = sum(check.weight for check in checks)
    return sum(check.weight * s for check, s in zip(checks, scores, strict=True)) / total


def score(spec: FormatSpec, sample: Sample) -> Score:
    """Run every check on the completion; details list each check's score and reason."""
    completion = sample.completion
    if len(completion) > spec.max_chars:
        reason = f"completion has {len(completion)} characters, more than max_chars={spec.max_chars}"
        return Score.wrong(reason)
    verdicts = [check.evaluate(completion, sample.reference) for check in spec.checks]
    results: list[dict[str, Any]] = [
        {"kind": check.kind, "score": v.score, "reason": v.reason, **v.facts}
        for check, v in zip(spec.checks, verdicts, strict=True)
    ]
    reward = combine(spec.aggregate, spec.checks, [v.score for v in verdicts])
    return Score(reward=reward, details={"aggregate": spec.aggregate, "checks": results})


class FormatGrader(PooledGrader[FormatSpec]):
    """Format checks, run in the worker pool under the per-sample time budget."""

    spec_type: ClassVar = FormatSpec
    version = "1"
    score_fn = score
