"""Math answers: extract the final answer, parse both sides, compare in stages (cheapest first).

Stages: normalized string, exact numbers, sympy (symbolic/numeric), structures (tuples, sets,
intervals, matrices, relations), choice letters, text. `details` says which stage decided and why
a sample failed. Reference parses are cached per worker process: a training step scores the same
reference once per sampled completion.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from pydantic import Field

from rewards.graders.base import PooledGrader, SpecBase
from rewards.mathgrade.compare import Tolerance, equal, stage_of
from rewards.mathgrade.expr import ParseError, TooLarge
from rewards.mathgrade.extract import extract_answer
from rewards.mathgrade.normalize import normalize, squash
from rewards.mathgrade.parse import Choice, Value, parse_answer, parse_choice, show
from rewards.types import Sample, Score


class MathSpec(SpecBase):
    """How strictly to compare: relative tolerance for inexact numbers, and the extraction fallback."""

    type: Literal["math"] = "math"
    rel_tol: float = Field(default=1e-9, ge=0, le=0.5, description="Relative tolerance for numbers.")
    abs_tol: float = Field(default=0.0, ge=0, le=1e6, description="Absolute tolerance floor.")
    bare_number: bool = Field(
        default=True, description="Without any marked answer, take the last number in the text."
    )


def reference_text(reference: Any) -> str:
    """The reference answer as text: a bare answer, LaTeX with or without `$`, with `\\boxed{}`, or after `####`."""
    text = str(reference).replace("\x00", "").strip()
    if "####" in text:  # a GSM8K solution: the answer follows the last ####
        text = text.rpartition("####")[2].strip()
    if "\\boxed" in text or "\\fbox" in text:
        found = extract_answer(text, bare_number=False)
        if found is not None and found.method == "boxed":
            return found.answer
    return text


@functools.lru_cache(maxsize=4096)
def parse_reference(text: str) -> tuple[str, Value | None, str | None]:
    """(squashed normal form, parsed value or None, why parsing failed); cached per worker."""
    squashed = squash(normalize(text).text)
    try:
        return squashed, parse_answer(text), None
    except ParseError as exc:
        return squashed, None, str(exc)


def _verdict(spec: MathSpec, sample: Sample) -> tuple[bool, dict[str, Any]]:
    if sample.reference is None or str(sample.reference).strip() == "":
        return False, {"reason": "no reference answer"}
    gold_text = reference_text(sample.reference)
    gold_squashed, gold, gold_error = parse_reference(gold_text)
    details: dict[str, Any] = {"reference": gold_text[:300]}
    found = extract_answer(sample.completion, bare_number=spec.bare_number)
    if found is None:
        return False, {**details, "reason": "no answer found"}
    details.update(answer=found.answer[:300], method=found.method)
    if not found.answer:
        return False, {**details, "reason": "empty answer"}
    if squash(normalize(found.answer).text) == gold_squashed and gold_squashed:
        return True, {**details, "stage": "string"}
    if gold is None:
        return False, {**details, "reason": f"reference not parseable: {gold_error}"}
    try:
        pred = (parse_choice(found.answer) if isinstance(gold, Choice) else None) or parse_answer(found.answer)
    except TooLarge as exc:
        return False, {**details, "reason": f"answer too large to evaluate: {exc}"}
    except ParseError as exc:
        return False, {**details, "reason": f"answer not parseable: {exc}"}
    details.update(parsed_reference=show(gold), parsed_answer=show(pred), stage=stage_of(gold, pred))
    ok = equal(gold, pred, Tolerance(spec.rel_tol, spec.abs_tol))
    return ok, details if ok else {**details, "reason": "not equal"}


def score(spec: MathSpec, sample: Sample) -> Score:
    """Reward 1 when the completion's final answer equals the reference, else 0 with the reason."""
    try:
        ok, details = _verdict(spec, sample)
    except (ArithmeticError, RecursionError, TypeError, ValueError, AttributeError, MemoryError) as exc:
        # sympy can fail on odd but well-formed input; that is still the answer's problem, not ours
        ok, details = False, {"reason": f"comparison failed: {type(exc).__name__}: {exc}"[:300]}
    return Score(reward=1.0 if ok else 0.0, details=details)


class MathGrader(PooledGrader[MathSpec]):
    spec_type: ClassVar = MathSpec
    score_fn = score


# Warm sympy's lazy numeric machinery once at import (in the pool's forkserver), not on the first sample.
score(MathSpec(), Sample(completion=r"\boxed{\sqrt{x+1}}", reference=r"(1+x)^{1/2}"))
