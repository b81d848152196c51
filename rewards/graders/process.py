"""Process rewards: a score for every reasoning step, folded into one reward.

`scorer: "arithmetic"` checks the equalities each step claims (no model; runs in the worker pool
under the time budget; reading and judging claims: `rewards.graders.claims`). A step is wrong (0)
when any claim in it is false, as in PRM800K's labels: `42 = 6 \\cdot 7 = 43` is a wrong step, not
half a right one. A step is right (1) when its claims all hold and at least one of them counts as
work: not trivial (`1 + 0 = 1`, `1 = 1.0`, `a = a + 0` hold whatever the number is) and tied to the
problem (it computes with a number of the prompt or of an earlier counted claim: `1 + 1 = 2` is not
tied to a problem about 2 apples), counted once however often it is repeated. Any other step (prose, trivial or unrelated claims) is
unverified: it has no score and is left out of the aggregate, so padding cannot lift any
aggregate. A completion without a counted claim, or a sample without a prompt to tie claims to,
earns 0 with the reason in details.

`scorer: "model"` reads a PRM's probability at a tag placed after each step, in either layout: a
token classifier (Qwen2.5-Math-PRM style, positive-class probability at the tag) or a causal LM
(Math-Shepherd style, p("+") against p("-") at the tag); steps cut by truncation are unscored. The
PRM runs on a model server (`/pooling`, vLLM's STEP pooling shape; `rewards.models.servers`).
`details.steps` lists each step's text and score.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from rewards.graders.base import PooledGrader
from rewards.graders.reward_model import BatchingSpec
from rewards.graders.steps import Aggregate, aggregate, split_steps
from rewards.models.forward import DEFAULT_STEP_TAGS
from rewards.models.servers import ServerNeed, model_servers, tokenizers
from rewards.models.shared import merge, render_each
from rewards.models.text import tagged_steps
from rewards.types import Sample, Score


class ProcessSpec(BatchingSpec):
    type: Literal["process"] = "process"
    scorer: Literal["arithmetic", "model"]
    split: str = Field(default="\n\n", description='"\\n\\n", "\\n", "step_k" or a regex separating steps.')
    aggregate: Aggregate = "min"
    model: str | None = Field(default=None, description="The PRM (scorer=model): local path or hub name.")
    layout: Literal["token", "causal"] = Field(default="token", description="Token classifier or causal LM PRM.")
    tag: str | None = Field(default=None, description='Appended after each step; default "<extra_0>" / " ки".')
    remote_code: bool = Field(default=False, description="Token layout: load with the repository's own model code "
                              "(Qwen2.5-Math-PRM); the server must allow it with RLVR_ALLOW_REMOTE_CODE=1.")
    positive_label: int = Field(default=1, ge=0, description="Token layout: the index of the 'good step' class.")
    positive_token: str = "+"
    negative_token: str = "-"

    @field_validator("split")
    @classmethod
    def _valid_split(cls, value: str) -> str:
        if value not in ("\n\n", "\n", "step_k"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"split is not a valid regex: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _model_when_needed(self) -> ProcessSpec:
        if self.scorer == "model" and not self.model:
            raise ValueError('scorer "model" needs "model"')
        if self.remote_code and self.layout != "token":
            raise ValueError('remote_code is for token-layout PRMs (layout "token")')
        return self

    def resources(self) -> list[str]:
        return [self.model] if self.scorer == "model" and self.model else []

    @property
    def step_tag(self) -> str:
        return self.tag if self.tag is not None else DEFAULT_STEP_TAGS[self.layout]


def _result(steps: list[str], scores: list[float | None], how: Aggregate, **details: Any) -> Score:
    reward = aggregate(scores, how)
    listed = [{"text": text, "score": score} for text, score in zip(steps, scores, strict=True)]
    if reward is None:
        return Score(reward=0.0, details={"steps": listed, "reason": "no step could be scored", **details})
    return Score(reward=reward, details={"steps": listed, **details})


def score_arithmetic(spec: ProcessSpec, sample: Sample) -> Score:
    """Each step 0 (a false claim), 1 (counted claims, all true) or unscored (pure; runs in the pool)."""
    from rewards.graders.claims import check_claims, numbers_in

    steps = split_steps(sample.completion, spec.split)
    known, seen = numbers_in(sample.prompt), set[tuple[str, str]]()
    scores: list[float | None] = []
    wrong, uncounted = [], []
    for index, step in enumerate(steps):
        claims = check_claims(step, known, seen)
        false = [c for c in claims if not c.holds]
        scores.append(0.0 if false else 1.0 if any(c.counted for c in claims) else None)
        wrong += [{"step": index, "claim": f"{c.lhs} = {c.rhs}"} for c in false]
        uncounted += [{"step": index, "claim": f"{c.lhs} = {c.rhs}", "why": c.why} for c in claims if c.why]
    details: dict[str, Any] = {"false_claims": wrong, "uncounted_claims": uncounted}
    if not sample.prompt.strip():
        return _result(steps, [None] * len(steps), spec.aggregate, **details,
                       reason="no prompt: claims cannot be tied to the problem's numbers")
    if all(score is None for score in scores):
        details["reason"] = "no claim counts as work (true, not trivial, tied to the problem or an earlier result)"
    return _result(steps, scores, spec.aggregate, **details)


def _step_scores(rows: list[list[float]], spec: ProcessSpec) -> list[float]:
    """P(good step) from each tag's probability row: the positive class, or p("+") of ("+", "-")."""
    column = spec.positive_label if spec.layout == "token" else 0
    if any(len(row) <= column for row in rows):
        raise ValueError(f"the model server's step rows have no column {column} (positive_label)")
    return [row[column] for row in rows]


class ProcessGrader(PooledGrader[ProcessSpec]):
    spec_type: ClassVar = ProcessSpec
    version = "1"
    score_fn = score_arithmetic

    async def grade(self, samples: list[Sample]) -> list[Score]:
        if self.spec.scorer == "arithmetic":
            return await super().grade(samples)
        return await self._grade_with_model(samples)

    async def _grade_with_model(self, samples: list[Sample]) -> list[Score]:
        spec = self.spec
        tag_text = spec.step_tag.strip() or spec.step_tag
        # the tag is ours: a completion that writes it cannot add or move the places scores are read at
        steps = [split_steps(s.completion.replace(tag_text, ""), spec.split) for s in samples]
        need = ServerNeed(spec.model or "", "remote" if spec.remote_code else spec.layout, spec.batch_size,
                          spec.batch_wait_ms, spec.step_tag, spec.positive_token, spec.negative_token)
        try:
            tokenizer = await tokenizers(self.context).get(need.model)
            texts, failed = render_each(
                lambda i: tagged_steps(tokenizer, samples[i].prompt, steps[i], spec.step_tag), len(samples))
            rows = await model_servers(self.context).call(
                need, lambda client: client.step_rows(texts, spec.max_length, spec.request_timeout_s,
                                                      share=spec.batch_size > 1))
            probs = [_step_scores(r, spec) for r in rows]
        except Exception as exc:  # noqa: BLE001 - a model that cannot load, run or be reached is machinery
            return [Score.failed(f"process model {spec.model!r} failed: {exc}"[:500]) for _ in samples]
        kept = [st for i, st in enumerate(steps) if i not in failed]
        scores = []
        for sample_steps, sample_probs in zip(kept, probs, strict=True):
            padded: list[float | None] = [*sample_probs[: len(sample_steps)]]
            padded += [None] * (len(sample_steps) - len(padded))
            truncated = len(sample_probs) < len(sample_steps)
            scores.append(_result(sample_steps, padded, spec.aggregate, truncated=truncated))
        return merge(failed, scores, len(samples))
