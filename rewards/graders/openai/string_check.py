"""OpenAI's `string_check`: compare two rendered templates with eq, ne, like (contains) or ilike (any case).

The comparison is our format check `string_check` (rewards.graders.format_checks.StringCheck) on the
rendered `input` against the rendered `reference`, unstripped as OpenAI compares. One rule is ours:
`like`/`ilike` against an empty reference scores 0 (every text contains it; OpenAI would pass it).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from rewards.graders.base import PooledGrader
from rewards.graders.format_checks import StringCheck
from rewards.graders.openai.spec import OpenAISpec, Template
from rewards.graders.openai.templates import render_pair
from rewards.types import Sample, Score


class StringCheckSpec(OpenAISpec):
    type: Literal["string_check"] = "string_check"
    input: Template = Field(description="The text graded, e.g. '{{sample.output_text}}'.")
    reference: Template = Field(description="The text compared against, e.g. '{{item.reference_answer}}'.")
    operation: Literal["eq", "ne", "like", "ilike"] = Field(
        description="eq: equal; ne: not equal; like: input contains reference; ilike: the same ignoring case.")


def score(spec: StringCheckSpec, sample: Sample) -> Score:
    """1 when the comparison holds, else 0; details say which."""
    rendered = render_pair(spec.input, spec.reference, sample)
    if isinstance(rendered, Score):
        return rendered
    text, target = rendered
    verdict = StringCheck(operation=spec.operation, value=target, strip=False).run(text, None)
    return Score(reward=verdict.score, details={"reason": verdict.reason})


class StringCheckGrader(PooledGrader[StringCheckSpec]):
    """OpenAI's string_check, run in the worker pool like every text check."""

    spec_type: ClassVar = StringCheckSpec
    version = "1"
    score_fn = score
