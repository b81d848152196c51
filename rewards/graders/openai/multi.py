"""OpenAI's `multi`: sub-graders by name combined by `calculate_output`, run as our own multi grader.

Both kinds are `type: "multi"` with a dict of `graders`; they are told apart by shape: OpenAI's has
`calculate_output`, ours `formula`. OpenAI's is read as ours with `calculate_output` as the formula
(rewards.graders.formula: + - * /, ^ for powers, min, max, abs, floor, ceil, exp, sqrt, log) and
its `name` dropped; so, as in ours, every sub-grader must be used in the formula and be named by an
identifier, and a formula that comes out NaN or infinite (sqrt of a negative, say) earns 0.
"""

from __future__ import annotations

from typing import Any

OPENAI_ONLY = ("name", "calculate_output")


def is_openai_multi(data: Any) -> bool:
    """Whether a spec given as a dict is OpenAI's multi rather than ours."""
    return isinstance(data, dict) and data.get("type") == "multi" and "calculate_output" in data


def as_our_multi(data: Any) -> Any:
    """OpenAI's multi as a dict of our multi spec (other fields go through, to be checked as ours are); one with
    a `formula` too is left as it is, for ours to refuse its `calculate_output`."""
    if not is_openai_multi(data) or "formula" in data:
        return data
    return {**{k: v for k, v in data.items() if k not in OPENAI_ONLY}, "formula": data["calculate_output"]}
