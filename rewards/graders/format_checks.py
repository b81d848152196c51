"""The checks a format spec is made of: a pydantic spec per kind, each with a pure `run(text, reference)`.

Every check yields a `Verdict` with a score in [0, 1] and a reason. Binary checks score 0 or 1;
graded checks (similarity, repetition) score in between unless given a `threshold`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import jsonschema
import regex
import sacrebleu
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq
from referencing.exceptions import Unresolvable

REGEX_TIMEOUT_S = 0.5  # a user pattern gets this long per text; the pool's kill timeout is the backstop
TAG_NAME = r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$"
SNIPPET_CHARS = 60
_FENCE = regex.compile(r"^```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```$", regex.DOTALL)
_WORD = regex.compile(r"\w+")

TagName = Annotated[str, Field(pattern=TAG_NAME)]
ReferenceValue = Annotated[
    str | None,
    Field(default=None, max_length=1_000_000, description="Compare against this text instead of the sample's reference."),
]


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: a score in [0, 1], why, and any measured facts."""

    score: float
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)


def passed(reason: str = "ok", **facts: Any) -> Verdict:
    return Verdict(1.0, reason, facts)


def failed(reason: str, **facts: Any) -> Verdict:
    return Verdict(0.0, reason, facts)


def snippet(text: str) -> str:
    """A short quote of model output for a reason string."""
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "..."


def tag_content(text: str, tag: str) -> str | None:
    """The text inside `<tag>...</tag>` when the pair appears exactly once, in order; else None."""
    opening, closing = f"<{tag}>", f"</{tag}>"
    if text.count(opening) != 1 or text.count(closing) != 1:
        return None
    start, end = text.index(opening) + len(opening), text.index(closing)
    return text[start:end] if start <= end else None


def reference_text(value: str | None, reference: Any) -> str | None:
    """The text to compare against: the check's own value, else a str/number sample reference."""
    if value is not None:
        return value
    if isinstance(reference, str):
        return reference
    if isinstance(reference, int | float) and not isinstance(reference, bool):
        return str(reference)
    return None


class CheckBase(BaseModel, ABC):
    """Fields every check has; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(default=1.0, ge=0, le=1000, description="Weight of this check under aggregate='mean'.")

    def evaluate(self, completion: str, reference: Any) -> Verdict:
        """Run the check on a completion."""
        return self.run(completion, reference)

    @abstractmethod
    def run(self, text: str, reference: Any) -> Verdict:
        """Score `text`; never raises for any text."""


class TextCheck(CheckBase):
    """A check that may look at one tagged part of the completion instead of all of it."""

    tag: TagName | None = Field(
        default=None,
        description="Check only the text inside <tag>...</tag>, which must appear exactly once; "
        "the whole completion when unset.",
    )

    def evaluate(self, completion: str, reference: Any) -> Verdict:
        if self.tag is None:
            return self.run(completion, reference)
        text = tag_content(completion, self.tag)
        if text is None:
            return failed(f"<{self.tag}>...</{self.tag}> does not appear exactly once")
        return self.run(text, reference)


class GradedCheck(TextCheck):
    """A check with a score in [0, 1] that a threshold can turn into pass/fail."""

    threshold: float | None = Field(
        default=None, ge=0, le=1, description="Score 1 when the measure reaches this, else 0; the measure itself when unset."
    )

    def evaluate(self, completion: str, reference: Any) -> Verdict:
        verdict = super().evaluate(completion, reference)
        if self.threshold is None:
            return verdict
        ok = verdict.score >= self.threshold
        return Verdict(float(ok), verdict.reason, {**verdict.facts, "measure": verdict.score})


class TagsCheck(CheckBase):
    """`<think>...</think><answer>...</answer>`: each tag exactly once, not nested, nothing stray outside."""

    kind: Literal["tags"] = "tags"
    tags: list[TagName] = Field(default=["think", "answer"], min_length=1, max_length=16,
                                description="Tag names that must each appear exactly once as <name>...</name>.")
    ordered: bool = Field(default=True, description="The tags must appear in the order listed.")
    allow_outside: bool = Field(default=False, description="Allow non-whitespace text outside the tags.")
    require_content: bool = Field(default=True, description="Each tag must enclose non-whitespace text.")

    @field_validator("tags")
    @classmethod
    def _unique(cls, tags: list[str]) -> list[str]:
        if len(set(tags)) != len(tags):
            raise ValueError("tag names must be unique")
        return tags

    def run(self, text: str, reference: Any) -> Verdict:
        marker = regex.compile("<(/?)(" + "|".join(regex.escape(t) for t in self.tags) + ")>")
        marks = list(marker.finditer(text))
        for tag in self.tags:
            opens = sum(1 for m in marks if m[2] == tag and not m[1])
            closes = sum(1 for m in marks if m[2] == tag and m[1])
            if opens != 1 or closes != 1:
                return failed(f"<{tag}> must open and close exactly once; found {opens} <{tag}> and {closes} </{tag}>")
        pairs = list(zip(marks[::2], marks[1::2], strict=True))
        for opening, closing in pairs:
            if opening[1] or closing[1] != "/" or opening[2] != closing[2]:
                return failed("tags are nested or overlap")
        order = [opening[2] for opening, _ in pairs]
        if self.ordered and order != self.tags:
            return failed(f"tags out of order: {order}, expected {self.tags}")
        if self.require_content:
            for opening, closing in pairs:
                if not text[opening.end():closing.start()].strip():
                    return failed(f"<{opening[2]}> is empty")
        if not self.allow_outside:
            bounds = [0] + [i for o, c in pairs for i in (o.start(), c.end())] + [len(text)]
            for start, end in zip(bounds[::2], bounds[1::2], strict=True):
                if stray := text[start:end].strip():
                    return failed(f"text outside the tags: {snippet(stray)!r}")
        return passed()


class RegexCheck(TextCheck):
    """The text matches a pattern (syntax of the `regex` module, a superset of `re`)."""

    kind: Literal["regex"] = "regex"
    pattern: str = Field(max_length=4096, description="The regular expression.")
    mode: Literal["search", "fullmatch"] = Field(
        default="search", description="'search': matches anywhere; 'fullmatch': must match the whole text."
    )
    ignore_case: bool = False
    multiline: bool = Field(default=False, description="^ and $ match at line boundaries.")
    dotall: bool = Field(default=False, description=". matches newlines too.")

    @model_validator(mode="after")
    def _compiles(self) -> RegexCheck:
        try:
            self.compiled()
        except regex.error as exc:
            raise ValueError(f"invalid regex {self.pattern!r}: {exc}") from exc
        return self

    def compiled(self) -> regex.Pattern:
        """The compiled pattern (the regex module caches compilations)."""
        flags = ((regex.IGNORECASE if self.ignore_case else 0) | (regex.MULTILINE if self.multiline else 0)
                 | (regex.DOTALL if self.dotall else 0))
        return regex.compile(self.pattern, flags)

    def run(self, text: str, reference: Any) -> Verdict:
        matcher = self.compiled().search if self.mode == "search" else self.compiled().fullmatch
        try:
            match = matcher(text, timeout=REGEX_TIMEOUT_S)
        except TimeoutError:
            return failed(f"pattern took over {REGEX_TIMEOUT_S}s on this text")
        if match is None:
            return failed(f"no {self.mode} match for {snippet(self.pattern)!r}")
        return passed(match=snippet(match[0]))


class JsonCheck(TextCheck):
    """The text is one strict JSON value, optionally valid against a JSON Schema."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    kind: Literal["json"] = "json"
    json_schema: dict[str, Any] | None = Field(
        default=None, alias="schema", description="A JSON Schema the value must satisfy (any draft jsonschema knows)."
    )
    strip_fences: bool = Field(default=False, description="Accept the JSON wrapped in one ``` code fence.")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from exc
            except RecursionError as exc:
                raise ValueError("invalid JSON Schema: nested too deeply") from exc
        return schema

    def run(self, text: str, reference: Any) -> Verdict:
        body = text.strip()
        if self.strip_fences and (fenced := _FENCE.match(body)):
            body = fenced[1].strip()
        try:
            value = json.loads(body, parse_constant=_reject_constant)
        except RecursionError:
            return failed("JSON nested too deeply")
        except ValueError as exc:
            return failed(f"not valid JSON: {snippet(str(exc))}")
        if self.json_schema is None:
            return passed()
        validator = jsonschema.validators.validator_for(self.json_schema)(self.json_schema)
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        except RecursionError:
            return failed("JSON nested too deeply to validate")
        except Unresolvable as exc:
            return failed(f"the schema has an unresolvable $ref: {snippet(str(exc))}")
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return failed(f"does not match the schema at {where}: {snippet(error.message)}")
        return passed()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class LengthCheck(TextCheck):
    """The text's length is within bounds, in characters or whitespace-separated words."""

    kind: Literal["length"] = "length"
    min: int | None = Field(default=None, ge=0, description="Fewest allowed units.")
    max: int | None = Field(default=None, ge=0, description="Most allowed units.")
    unit: Literal["chars", "words"] = "chars"

    @model_validator(mode="after")
    def _bounds(self) -> LengthCheck:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def run(self, text: str, reference: Any) -> Verdict:
        size = len(text) if self.unit == "chars" else len(text.split())
        if self.min is not None and size < self.min:
            return failed(f"{size} {self.unit}, fewer than {self.min}", length=size)
        if self.max is not None and size > self.max:
            return failed(f"{size} {self.unit}, more than {self.max}", length=size)
        return passed(length=size)


class StringCheck(TextCheck):
    """Compare with the reference like OpenAI's string_check: eq, ne, like (contains), ilike (any case)."""

    kind: Literal["string_check"] = "string_check"
    operation: Literal["eq", "ne", "like", "ilike"] = Field(
        description="eq: equal; ne: not equal; like: contains the reference; ilike: contains it ignoring case."
    )
    value: ReferenceValue
    strip: bool = Field(default=True, description="Strip surrounding whitespace from both sides first.")

    def run(self, text: str, reference: Any) -> Verdict:
        target = reference_text(self.value, reference)
        if target is None:
            return failed("no text reference to compare against")
        if self.strip:
            text, target = text.strip(), target.strip()
        if not target and self.operation in ("like", "ilike"):
            return failed("empty reference: every text would contain it")
        if self.operation == "eq":
            ok = text == target
        elif self.operation == "ne":
            ok = text != target
        elif self.operation == "like":
            ok = target in text
        else:
            ok = target.casefold() in text.casefold()
        return Verdict(float(ok), f"{self.operation}: {'true' if ok else 'false'}")


def fuzzy_similarity(text: str, reference: str) -> float:
    """Normalized Indel similarity of the two strings (rapidfuzz's ratio), in [0, 1]."""
    return fuzz.ratio(text, reference) / 100.0


def bleu_similarity(text: str, reference: str) -> float:
    """Sentence BLEU (sacrebleu defaults, clipped n-gram counts) scaled to [0, 1]."""
    return min(1.0, sacrebleu.sentence_bleu(text, [reference]).score / 100.0)


def words(text: str) -> list[str]:
    """Lowercased word tokens, as the word-based similarity metrics compare them."""
    found: list[str] = _WORD.findall(text.casefold())
    return found


def rouge_l_similarity(text: str, reference: str) -> float:
    """ROUGE-L F1: longest common subsequence of lowercased word tokens against both lengths."""
    hyp, ref = words(text), words(reference)
    if not hyp or not ref:
        return 0.0
    common = LCSseq.similarity(hyp, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(hyp), common / len(ref)
    return 2 * precision * recall / (precision + recall)


METRICS = {"fuzzy": fuzzy_similarity, "bleu": bleu_similarity, "rouge_l": rouge_l_similarity}


class SimilarityCheck(GradedCheck):
    """Text similarity to the reference in [0, 1]; each metric also penalizes padding and repeats."""

    kind: Literal["similarity"] = "similarity"
    metric: Literal["fuzzy", "bleu", "rouge_l"] = Field(
        default="fuzzy", description="fuzzy: character edit ratio; bleu: sentence BLEU; rouge_l: ROUGE-L F1 on words."
    )
    value: ReferenceValue

    def run(self, text: str, reference: Any) -> Verdict:
        target = reference_text(self.value, reference)
        if target is None:
            return failed("no text reference to compare against")
        if not text.strip() or not target.strip():
            return failed("empty text or reference")
        measure = METRICS[self.metric](text, target)
        return Verdict(measure, f"{self.metric} similarity {measure:.3f}")


class RepetitionCheck(GradedCheck):
    """Share of distinct n-grams among all n-grams: 1 for no repeats, toward 0 for looping text."""

    kind: Literal["repetition"] = "repetition"
    n: int = Field(default=3, ge=1, le=64, description="n-gram size.")
    unit: Literal["words", "chars"] = Field(default="words", description="n-grams of lowercased words or of characters.")

    def run(self, text: str, reference: Any) -> Verdict:
        if not text.strip():
            return failed("empty text")
        n = self.n
        if self.unit == "words":
            words = text.casefold().split()
            grams: list[tuple[str, ...]] | list[str] = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
        else:
            grams = [text[i:i + n] for i in range(len(text) - n + 1)]
        if not grams:
            return passed(f"shorter than {self.n} {self.unit}")
        distinct = len(set(grams)) / len(grams)
        return Verdict(distinct, f"{distinct:.3f} of {len(grams)} {self.n}-grams are distinct")


Check = Annotated[
    Union[TagsCheck, RegexCheck, JsonCheck, LengthCheck, StringCheck, SimilarityCheck, RepetitionCheck],  # noqa: UP007
    Field(discriminator="kind"),
]
