"""Math answers: extract the final answer, parse both sides, compare in stages (cheapest first).

Stages: normalized string, exact numbers, sympy (symbolic/numeric), structures (tuples, sets,
intervals, matrices, relations), choice letters, text. `details` says which stage decided and why
a sample failed. Reference parses are cached per worker process: a training step scores the same
reference once per sampled completion.
"""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from rewards.graders.base import PooledGrader, SpecBase
from rewards.mathgrade.compare import Tolerance, approximately_equal, equal, rounds_to, stage_of
from rewards.mathgrade.expr import ParseError, TooLarge
from rewards.mathgrade.extract import Extraction, clean, extract_answer, find_answer
from rewards.mathgrade.interpret import (
    decimal_comma,
    final_value,
    is_approximation,
    is_prose,
    last_statement,
    named_value,
    prose_value,
    relation_ends,
    rounded_tail,
)
from rewards.mathgrade.normalize import Normalized, normalize, squash
from rewards.mathgrade.parse import (
    Choice,
    Num,
    Relation,
    Seq,
    Text,
    Union,
    Value,
    parse_answer,
    parse_choice,
    parse_number,
    show,
    split_top,
)
from rewards.types import Sample, Score

_UNMARKED = ("math", "bold", "bare_number", "latex_line")
_EQUALS = re.compile(r"(?<![<>!=\\])=(?!=)")
MAX_REFERENCE_ANSWER = 200  # a longer reference is a worked solution, not an answer
_LONE_LETTER = re.compile(r"\s*\(?[a-j]\)?\s*")  # `c` or `(c)` against a choice reference


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
    return _reference_answer(str(reference))


@functools.lru_cache(maxsize=4096)
def _reference_answer(reference: str) -> str:
    """`reference_text` of a string; cached per worker, since a training step scores one reference many times."""
    text = reference.replace("\x00", "").strip()
    if "####" in text:  # a GSM8K solution: the answer follows the last ####
        text = text.rpartition("####")[2].strip()
    if "\\boxed" in text or "\\fbox" in text or len(text) > MAX_REFERENCE_ANSWER:
        found = extract_answer(text, bare_number=False)  # a worked solution: its marked final answer
        if found is not None and found.method in ("boxed", "marker", "answer_tag"):
            return found.answer
    return text


@functools.lru_cache(maxsize=4096)
def parse_reference(text: str) -> tuple[Normalized, Value | None, str | None]:
    """(normal form, parsed value or None, why parsing failed); cached per worker."""
    normal = normalize(text)
    try:
        return normal, parse_answer(text), None
    except ParseError as exc:
        return normal, None, str(exc)


def read_answer(text: str, gold: Value) -> tuple[Value, str]:
    """The value one answer states and the text it was read from, read the way the reference's kind asks
    (see `mathgrade.interpret`)."""
    if isinstance(gold, Choice):
        lone = _LONE_LETTER.fullmatch(text)
        choice = parse_choice(text) or (Choice(text.strip(" ()").upper()) if lone else None)
        if choice is not None:
            return choice, text
    if not isinstance(gold, Text) and is_prose(text):
        text = prose_value(text) or text  # `It takes a total of 3 bolts.` states 3
    if not isinstance(gold, Relation):
        text = final_value(text)
    elif gold.ops == ("=",):
        text = relation_ends(text)
    if isinstance(gold, Num) and gold.value.denominator != 1:
        text = decimal_comma(text) or text
    value = parse_answer(text)
    if isinstance(value, Text) and not isinstance(gold, Text):
        stated = prose_value(text)  # working over several lines, ending in its value
        if stated is not None:
            text = stated if isinstance(gold, Relation) else final_value(stated)
            value = parse_answer(text)
    return value, text


_OVER_ONE = re.compile(r"\\frac\{\s*-?\d+\s*\}\{\s*1\s*\}|-?\d+\s*/\s*1")
_POWER = re.compile(r"(-?\d+)\s*\^\s*\{?\s*(\d{1,3})\s*\}?")


def is_literal(text: str) -> bool:
    """A number written out (`391`, `1,000`, `-3`, `1.5e3`, `(7)`) or as a power (`2^{8}`, `10^6`, a closed form
    as literal as digits), not an expression of one (`17 \\times 23`)."""
    bare = normalize(text).text.strip()
    if bare[:1] in "([" and bare[-1:] in ")]":
        bare = bare[1:-1].strip()
    if _POWER.fullmatch(bare):
        return True
    if _OVER_ONE.fullmatch(bare):
        return True  # `\\frac{9}{1}`: a ratio written as one
    if re.search(r"\\frac|/|\\times|\\cdot|\*", bare):
        return False  # `\\frac{1001}{7}`, `3.91 \\times 10^2`: the division or the scaling is the question's
    try:
        return parse_number(bare) is not None
    except ParseError:
        return False


def _names_values(gold: Value | None) -> bool:
    return isinstance(gold, Relation) and gold.ops == ("=",) or isinstance(gold, (Seq, Text))


def combine_parts(
    values: list[tuple[bool, Value, str]], gold: Value, tol: Tolerance, either: bool = False
) -> tuple[Value | None, str]:
    """One answer from several boxes: approximations of the value before them drop out; what remains is the
    items of one answer when the reference has items, else must be one value (two values are a hedge)."""
    kept: list[Value] = []
    for approximate, value, written in values:
        if approximate and kept:
            if not approximately_equal(kept[-1], value, written):
                return None, "an approximation that disagrees with the value it follows"
            continue
        kept.append(value)
    if len(kept) == 1:
        return kept[0], ""
    if isinstance(gold, (Seq, Union)):
        return Seq("set" if either else "list", tuple(kept)), ""
    if all(equal(kept[0], other, tol) for other in kept[1:]):
        return kept[0], ""
    return None, "several different answers"


_ROUNDING_ASKED = re.compile(  # "express as a decimal" or "20%" ask for an exact value, not a rounding
    r"(?i)\bnearest\b|\bround|\bapproximat|\bestimat|\bsignificant\b|\bdecimal\s+places?\b|\bplaces?\s+after\b"
)
_DECIMAL = re.compile(r"-?\d*\.(\d+)")


def rounded_as_given(gold_text: str, gold: Value, pred: Value, readings: list[tuple[bool, Value, str]],
                     answer: str, prompt: str) -> bool:
    """A decimal reference met by an exact value and its rounding (`2\\pi - 4 \\approx 2.3` for `2.3`): the rounding
    counts when it shows the reference's decimals and the exact value rounds to it, and, when the prompt was sent,
    the prompt asks for a rounded value. The exact value alone is compared first, so this only adds recall."""
    reference = _DECIMAL.fullmatch(normalize(gold_text).text.replace("$", "").strip())
    if not isinstance(gold, Num) or reference is None or prompt and not _ROUNDING_ASKED.search(prompt):
        return False
    if gold.value.denominator == 1:
        return False  # `12.0`: an integer written as a float, not a rounding
    approximations = [text for approximate, _, text in readings if approximate]
    tail = approximations[-1] if approximations else rounded_tail(answer)
    written = _DECIMAL.fullmatch(normalize(tail).text.strip()) if tail else None
    if written is None or len(written.group(1)) != len(reference.group(1)):
        return False
    rounded = parse_answer(written.group(0))
    return equal(gold, rounded, Tolerance(0.0, 0.0, exact=True)) and rounds_to(pred, rounded, written.group(0))


_OPERATION = re.compile(r"\\[a-zA-Z]{2,}|[-+*/^!(]")  # a function, a root, an operator: something left to do


def restates_the_question(answer: str, reference: str, prompt: str) -> bool:
    """An answer that copies an expression of the prompt (`\\tan(2\\arctan\\frac15-\\frac\\pi4)` for "Compute
    \\tan(2\\arctan\\frac15-\\frac\\pi4)") equals the reference without solving anything. Only an answer with an
    operation left in it counts (a bare number or name may well appear in the prompt), and not where the prompt
    names the reference too (the options of "which of these...")."""
    if not prompt:
        return False
    def bare(text: str) -> str:  # `2^{10}` and `2^10`, `\\sqrt{8}` and `\\sqrt8`, `\\dfrac` and `\\frac` alike
        return squash(normalize(text).text).replace("{", "").replace("}", "")

    copied, question = bare(final_value(answer) or answer), bare(prompt)
    return (len(copied) >= 3 and bool(_OPERATION.search(copied)) and copied in question
            and bare(reference) not in question)


def _verdict(spec: MathSpec, sample: Sample) -> tuple[bool, dict[str, Any]]:
    if sample.reference is None or str(sample.reference).strip() == "":
        return False, {"reason": "no reference answer"}
    gold_text = reference_text(sample.reference)
    gold_normal, gold, gold_error = parse_reference(gold_text)
    if isinstance(gold, Relation) and len(gold.ops) > 1 and set(gold.ops) == {"="}:
        gold_text = relation_ends(gold_text)  # `z = 1 + 1 = 2` states z = 2
        gold_normal, gold, gold_error = parse_reference(gold_text)
    details: dict[str, Any] = {"reference": gold_text[:300]}
    text = clean(sample.completion)
    found = find_answer(text, bare_number=spec.bare_number)
    if found is None:
        return False, {**details, "reason": "no answer found"}
    details.update(answer=found.answer[:300], method=found.method)
    if isinstance(gold, Choice) and found.method == "math":
        return False, {**details, "reason": "no option marked as the answer (a letter in running math is a variable)"}
    if found.method in _UNMARKED and not isinstance(gold, Choice):  # what the last sentence with math states
        holds_value, stated = last_statement(text)
        if holds_value and stated is None:
            return False, {**details, "reason": "no marked answer, and the last sentence states no single value"}
        if stated is not None:
            found = Extraction(stated, "last_statement", found.position)
            details.update(answer=found.answer[:300], method=found.method)
    if not found.answer:
        return False, {**details, "reason": "empty answer"}
    if _names_values(gold) and not split_top(found.answer, _EQUALS)[1]:
        named = named_value(gold_text)  # `(p,q)=(3,2)` states `(3,2)` to an answer that names nothing
        if named:
            gold_normal, gold, gold_error = parse_reference(named)
    normal = normalize(found.answer)
    gold_squashed = squash(gold_normal.text)
    if gold_squashed and squash(normal.text) == gold_squashed and normal.percent == gold_normal.percent:
        return True, {**details, "stage": "string"}
    if gold is None:
        return False, {**details, "reason": f"reference not parseable: {gold_error}"}
    tol = Tolerance(spec.rel_tol, spec.abs_tol)
    try:
        readings = [(is_approximation(part), *read_answer(part, gold)) for part in found.parts or (found.answer,)]
    except TooLarge as exc:
        return False, {**details, "reason": f"answer too large to evaluate: {exc}"}
    except ParseError as exc:
        return False, {**details, "reason": f"answer not parseable: {exc}"}
    if isinstance(gold, Num) and gold.value.denominator == 1 and is_literal(gold_text):  # a number, not a sum to do
        if any(not approximate and not is_literal(text) for approximate, _, text in readings):
            return False, {**details, "reason": "an expression for the number, not the number"}
    pred, why = combine_parts(readings, gold, tol, found.either)
    if pred is None:
        return False, {**details, "reason": why}
    details.update(parsed_reference=show(gold), parsed_answer=show(pred), stage=stage_of(gold, pred))
    ok = equal(gold, pred, tol)
    if ok and restates_the_question(found.answer, gold_text, sample.prompt):
        return False, {**details, "reason": "the answer restates an expression of the question"}
    if not ok and rounded_as_given(gold_text, gold, pred, readings, found.answer, sample.prompt):
        return True, {**details, "stage": "rounding"}
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
    version = "3"
    score_fn = score


# Warm sympy's lazy numeric machinery once at import (in the pool's forkserver), not on the first sample.
score(MathSpec(), Sample(completion=r"\boxed{\sqrt{x+1}}", reference=r"(1+x)^{1/2}"))
