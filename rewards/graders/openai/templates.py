"""OpenAI's grader templates: `{{sample.output_text}}`, `{{sample.output_json}}`, `{{item.<field>}}`.

What a template sees, built from one request sample:
- `sample`: `output_text` (the completion), `output_json` (the completion parsed as strict JSON, else
  None), `output_tools` and `choices` (always empty: a request carries one plain completion).
- `item`: the sample's `metadata` fields, plus `reference` set to the sample's reference (it replaces a
  metadata field of that name). An OpenAI dataset row's fields go in `metadata`.

Dotted paths reach into objects (`{{item.answer.value}}`, `{{sample.output_json.result}}`); a string is
put in as is, any other value as compact JSON. Filling is one pass, so a completion that contains
`{{item.x}}` is never expanded in turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rewards.types import Sample, Score

TEMPLATE = re.compile(r"\{\{\s*((?:sample|item)(?:\.[^\s{}.]+)*)\s*\}\}")
SAMPLE_FIELDS = ("output_text", "output_json", "output_tools", "choices")


class Missing(Exception):  # noqa: N818 - names what happened, like KeyError
    """A template names a value the sample does not have; `model_output` when the model is to blame."""

    def __init__(self, message: str, *, model_output: bool) -> None:
        super().__init__(message)
        self.model_output = model_output

    def score(self) -> Score:
        """Reward 0 when the model's output lacks the value; an `error` when the request's item does."""
        return Score.wrong(str(self)) if self.model_output else Score.failed(str(self))


def parse_json(text: str) -> Any:
    """The completion as strict JSON (no NaN/Infinity), or None when it is not JSON."""
    def reject(name: str) -> None:
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=reject)
    except (ValueError, RecursionError):
        return None


def sample_view(sample: Sample) -> dict[str, Any]:
    """OpenAI's `sample` object for a request sample."""
    return {"output_text": sample.completion, "output_json": parse_json(sample.completion), "output_tools": [],
            "choices": []}


def item_view(sample: Sample) -> dict[str, Any]:
    """OpenAI's `item` object: the metadata fields plus `reference`."""
    return {**sample.metadata, "reference": sample.reference}


@dataclass(frozen=True)
class Context:
    """The `sample` and `item` objects of one request sample."""

    sample: dict[str, Any]
    item: dict[str, Any]

    @classmethod
    def of(cls, sample: Sample) -> Context:
        return cls(sample_view(sample), item_view(sample))

    def lookup(self, path: str) -> Any:
        """The value at a dotted path; raises Missing."""
        root, *keys = path.split(".")
        value: Any = self.sample if root == "sample" else self.item
        for depth, key in enumerate(keys):
            if root == "sample" and depth == 0 and key == "output_json" and value["output_json"] is None:
                raise Missing("{{sample.output_json}} needs a completion that is JSON; it is not", model_output=True)
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                # a field missing from the completion's JSON is the model's; one missing from the item is the request's
                blame = root == "sample"
                raise Missing(f"{{{{{path}}}}}: no {key!r} in {'.'.join([root, *keys[:depth]])}", model_output=blame)
        return value


def as_text(value: Any) -> str:
    """A template value as text: strings as they are, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def placeholders(template: str) -> list[str]:
    """The dotted paths a template names."""
    return TEMPLATE.findall(template)


def check_template(template: str) -> str:
    """`template` if every `{{sample.x}}` it names is a field of OpenAI's sample; raises ValueError."""
    for path in placeholders(template):
        parts = path.split(".")
        if parts[0] == "sample" and (len(parts) == 1 or parts[1] not in SAMPLE_FIELDS):
            raise ValueError(f"{{{{{path}}}}}: the sample has {', '.join(SAMPLE_FIELDS)}")
    return template


def render(template: str, context: Context, wrap: Callable[[str, str], str] | None = None) -> str:
    """`template` with every placeholder filled from `context`; `wrap(path, text)` may fence each value."""
    def fill(match: re.Match[str]) -> str:
        text = as_text(context.lookup(match[1]))
        return wrap(match[1], text) if wrap else text

    return TEMPLATE.sub(fill, template)


def render_pair(input_template: str, reference_template: str, sample: Sample) -> tuple[str, str] | Score:
    """The rendered `input` and `reference` of a comparing grader, or the Score a missing value earns."""
    context = Context.of(sample)
    try:
        return render(input_template, context), render(reference_template, context)
    except Missing as exc:
        return exc.score()
