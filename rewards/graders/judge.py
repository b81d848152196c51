"""LLM-as-judge: a judge model reads the completion and gives a rating, a preference, a label or a safety call.

Modes: `rubric` (pointwise rating mapped onto [0, 1]), `pairwise` (against `reference`, judged in both
orders; disagreement is a tie, MT-Bench's rule), `labels` (reward 1 for a passing label), `safety`
(Llama Guard: `safe` -> 1, `unsafe` -> 0 with `details.categories`). A `constitution` (list of
principles, inline or a file) becomes the rubric. Unparseable judge output, and judge output with two
different verdicts (`rewards.judge.parse`), is reward 0 with `error` set (a judge failure: trainers
drop the sample); the judge's raw text is always in `details.judge_output`.

With `block_injection` (the default), a completion aimed at the judge (a verdict in the judge's
format, a request for a score, an override, a fake conversation turn, a fence tag; found after
undoing disguises, see `rewards.judge.injection`) earns 0 unjudged, with `details.injection` saying
which rule matched what; such blocks are counted in the `rlvr_judge_injections` metric.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from rewards.errors import JudgeUnavailable
from rewards.graders.base import Grader, GraderContext, SpecBase
from rewards.judge import parse
from rewards.judge.backends import JudgeBackend, OpenAIBackend, VerdictCache
from rewards.judge.injection import Detector
from rewards.judge.local import LocalBackend
from rewards.judge.prompts import (
    DEFAULT_RUBRIC,
    LABELS_TEMPLATE,
    PAIRWISE_TEMPLATE,
    RUBRIC_TEMPLATE,
    fill,
    untrusted,
)
from rewards.models.servers import ServerNeed, model_servers
from rewards.types import Sample, Score

CONSTITUTION_SUFFIXES = (".txt", ".md", ".yaml", ".yml", ".json")
MAX_CONSTITUTION_BYTES = 1_000_000


class JudgeSpec(SpecBase):
    type: Literal["judge"] = "judge"
    mode: Literal["rubric", "pairwise", "labels", "safety"] = "rubric"
    backend: Literal["openai", "local"] = "openai"
    model: str = Field(min_length=1, description="Model name at the endpoint, or a local path / hub name.")
    base_url: str | None = Field(default=None, description="OpenAI-compatible base URL, e.g. http://host:8000/v1.")
    api_key_env: str | None = Field(default="OPENAI_API_KEY", description="Env var holding the endpoint's key.")
    template: str | None = Field(default=None, description="Custom prompt: {{prompt}}, {{completion}}, {{reference}}.")
    system: str | None = None
    rubric: str | None = None
    constitution: list[str] | str | None = Field(default=None, description="Principles, or a file of them.")
    scale: tuple[float, float] = (1, 10)
    labels: list[str] | None = None
    passing_labels: list[str] | None = None
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=1, le=32768)
    retries: int = Field(default=2, ge=0, le=10)
    request_timeout_s: float = Field(default=60.0, gt=0, le=600)
    concurrency: int = Field(default=16, ge=1, le=1024, description="Requests in flight to this backend.")
    block_injection: bool = Field(default=True, description="Reward 0, unjudged, for completions that address "
                                  "the judge (verdict markers, 'ignore previous instructions').")
    cache: bool = True

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        # only *_API_KEY variables, and never the service's own key: a spec must not exfiltrate secrets
        if value is not None and (not re.fullmatch(r"[A-Z][A-Z0-9_]*_API_KEY", value) or value.startswith("RLVR_")):
            raise ValueError("api_key_env must name a <NAME>_API_KEY variable (not RLVR_*)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JudgeSpec:
        low, high = self.scale
        if not low < high:
            raise ValueError("scale must be (low, high) with low < high")
        if self.mode == "labels":
            if not self.labels or not self.passing_labels:
                raise ValueError('mode "labels" needs "labels" and "passing_labels"')
            if unknown := set(self.passing_labels) - set(self.labels):
                raise ValueError(f"passing_labels not in labels: {sorted(unknown)}")
        if isinstance(self.constitution, str):
            if not self.constitution.endswith(CONSTITUTION_SUFFIXES):
                raise ValueError(f"constitution file must end with one of {CONSTITUTION_SUFFIXES}")
        return self

    def resources(self) -> list[str]:
        used = [self.model] if self.backend == "local" else [self.base_url] if self.base_url else []
        return used + ([self.constitution] if isinstance(self.constitution, str) else [])


def load_principles(constitution: list[str] | str) -> list[str]:
    """Principles given inline, or read from a YAML/JSON list or a text file (one per line)."""
    if isinstance(constitution, list):
        return constitution
    import yaml

    path = Path(constitution)
    try:
        if path.stat().st_size > MAX_CONSTITUTION_BYTES:
            raise ValueError(f"constitution file {constitution} is over {MAX_CONSTITUTION_BYTES} bytes")
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read constitution file {constitution}: {type(exc).__name__}") from exc
    if isinstance(data, dict):
        data = data.get("principles")
    if isinstance(data, list):
        return [str(p) for p in data]
    return [line.strip("-* \t") for line in str(data).splitlines() if line.strip("-* \t")]


def _unparseable(text: str) -> Score:
    return Score.failed("unparseable judge output", judge_output=text)


class JudgeGrader(Grader[JudgeSpec]):
    spec_type: ClassVar = JudgeSpec
    version = "1"

    def __init__(self, spec: JudgeSpec, context: GraderContext) -> None:
        super().__init__(spec, context)
        self.backend = self._shared_backend()
        self.cache: VerdictCache = context.resources.judge_cache
        self.sampling: dict[str, Any] = {"temperature": spec.temperature, "max_tokens": spec.max_tokens}
        rubric = spec.rubric or DEFAULT_RUBRIC
        if spec.constitution is not None:
            principles = load_principles(spec.constitution)
            rubric = "Judge how well the response follows these principles:\n" + "\n".join(
                f"{i}. {p}" for i, p in enumerate(principles, 1))
        self.rubric = rubric
        self.detector = Detector(*spec.scale, labels=spec.labels, mode=spec.mode)

    def _shared_backend(self) -> JudgeBackend:
        spec, resources = self.spec, self.context.resources
        if spec.backend == "local":
            need = ServerNeed(spec.model, "causal", batch_size=spec.concurrency)
            return resources.shared(LocalBackend, (need, spec.retries, spec.request_timeout_s), lambda: LocalBackend(
                model_servers(self.context), need, spec.request_timeout_s, spec.retries, spec.concurrency))
        base_url = spec.base_url or os.environ.get("RLVR_JUDGE_BASE_URL") or "https://api.openai.com/v1"
        key = (base_url, spec.model, spec.api_key_env, spec.concurrency, spec.retries, spec.request_timeout_s)
        api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        return resources.shared(OpenAIBackend, key, lambda: OpenAIBackend(
            base_url, spec.model, api_key, spec.request_timeout_s, spec.retries, spec.concurrency))

    async def ask(self, user: str | None, conversation: list[dict[str, str]] | None = None) -> str:
        """The judge's answer to `conversation` (else the system prompt) then `user`, cached per spec."""
        messages = conversation or ([{"role": "system", "content": self.spec.system}] if self.spec.system else [])
        if user is not None:
            messages = [*messages, {"role": "user", "content": user}]
        key = VerdictCache.key(self.backend.key, messages, self.sampling)
        if self.spec.cache and (hit := self.cache.get(key)) is not None:
            return hit
        text = await self.backend.complete(messages, self.sampling)
        if self.spec.cache:
            self.cache.put(key, text)
        return text

    def _template(self, default: str) -> str:
        return self.spec.template or default

    def _values(self, sample: Sample, **texts: str | None) -> dict[str, str]:
        low, high = self.spec.scale
        fenced = untrusted({"prompt": sample.prompt, **texts})
        labels = ", ".join(self.spec.labels or [])
        return {**fenced, "rubric": self.rubric, "low": f"{low:g}", "high": f"{high:g}", "labels": labels}

    async def _rubric(self, sample: Sample) -> Score:
        reference = None if sample.reference is None else str(sample.reference)
        text = await self.ask(fill(self._template(RUBRIC_TEMPLATE),
                                    self._values(sample, completion=sample.completion, reference=reference)))
        low, high = self.spec.scale
        value = parse.parse_rating(text, low, high)
        if value is None:
            return _unparseable(text)
        return Score(reward=(value - low) / (high - low), details={"rating": value, "judge_output": text})

    async def _pairwise(self, sample: Sample) -> Score:
        if sample.reference is None:
            return Score.wrong("pairwise mode compares with `reference`; none given")
        ours, theirs = sample.completion, str(sample.reference)
        template = self._template(PAIRWISE_TEMPLATE)
        first, second = await asyncio.gather(
            self.ask(fill(template, self._values(sample, a=ours, b=theirs))),
            self.ask(fill(template, self._values(sample, a=theirs, b=ours))),
        )
        details: dict[str, Any] = {"judge_output": [first, second]}
        try:
            verdicts = (parse.parse_pairwise(first), parse.parse_pairwise(second))
        except parse.Ambiguous as exc:
            return Score.failed(f"ambiguous judge output: {exc}", **details)
        details["verdicts"] = list(verdicts)
        if None in verdicts:
            return Score.failed("unparseable judge output", **details)
        won = (verdicts[0] == "A", verdicts[1] == "B")
        lost = (verdicts[0] == "B", verdicts[1] == "A")
        reward = 1.0 if all(won) else 0.0 if all(lost) else 0.5  # disagreement between orders is a tie
        return Score(reward=reward, details=details)

    async def _labels(self, sample: Sample) -> Score:
        text = await self.ask(fill(self._template(LABELS_TEMPLATE), self._values(sample, completion=sample.completion)))
        label = parse.parse_label(text, self.spec.labels or [])
        if label is None:
            return _unparseable(text)
        passed = label in (self.spec.passing_labels or [])
        return Score(reward=float(passed), details={"label": label, "judge_output": text})

    async def _safety(self, sample: Sample) -> Score:
        conversation = [{"role": "user", "content": sample.prompt}] if sample.prompt else []
        role = "assistant" if sample.prompt else "user"
        text = await self.ask(None, [*conversation, {"role": role, "content": sample.completion}])
        verdict = parse.parse_guard(text)
        if verdict is None:
            return _unparseable(text)
        return Score(reward=float(verdict.safe), details={"safe": verdict.safe, "categories": verdict.categories,
                                                          "judge_output": text})

    async def _one(self, sample: Sample) -> Score:
        check = self.spec.block_injection and self.spec.mode != "safety"
        if check and (hit := await asyncio.to_thread(self.detector.find, sample.completion)):  # long texts: off the loop
            return Score.wrong("the completion addresses the judge; not judged",
                               injection={"rule": hit.rule, "matched": hit.matched})
        handler = {"rubric": self._rubric, "pairwise": self._pairwise, "labels": self._labels,
                   "safety": self._safety}[self.spec.mode]
        try:
            return await handler(sample)
        except JudgeUnavailable as exc:
            return Score.failed(str(exc))
        except parse.Ambiguous as exc:  # the judge gave two different verdicts: a judge failure, not a score
            return Score.failed(f"ambiguous judge output: {exc}", judge_output=exc.text)

    async def grade(self, samples: list[Sample]) -> list[Score]:
        return list(await asyncio.gather(*(self._one(s) for s in samples)))
