"""Bradley-Terry reward models: one scalar per (prompt, completion) from a sequence classifier on a model server.

The grader renders each sample (the tokenizer's chat template, as at training time) and sends the
batch to the model server answering for the model (`rewards.models.servers`: a configured URL, or a
private `rlvr serve-model` started on first use), which gathers concurrent requests into shared
forward passes. A call past its budget, or a server that is down, is an `error`, never a reward.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from rewards.graders.base import Grader, GraderContext, SpecBase
from rewards.models.servers import ServerNeed, model_servers, tokenizers
from rewards.models.shared import merge, render_each
from rewards.models.text import render
from rewards.types import Sample, Score


class Standardize(BaseModel):
    """Shift and scale raw rewards: (r - mean) / std."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: float
    std: float = Field(gt=0)


class BatchingSpec(SpecBase):
    """How a model-backed spec calls its model server, and how a private one batches (shared by model specs)."""

    max_length: int = Field(default=2048, gt=0, le=131072, description="Tokens kept per input (truncated).")
    batch_size: int = Field(default=32, ge=1, le=1024, description="A private model server's most inputs per "
                            "forward pass; 1 = no batching (also: each call sends its own request).")
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000, description="How long a private model server's "
                                 "batch waits to fill up.")
    request_timeout_s: float = Field(default=60.0, gt=0, le=600, description="Budget of one call to the model "
                                     "server (retries included); past it the call's samples get `error`.")


class RewardModelSpec(BatchingSpec):
    type: Literal["reward_model"] = "reward_model"
    model: str = Field(min_length=1, description="Local path or hub name of a single-output sequence classifier.")
    normalize: Literal["none", "sigmoid"] | Standardize = "none"

    def resources(self) -> list[str]:
        return [self.model]


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large |x|."""
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    z = math.exp(x)
    return z / (1 + z)


def _normalize(raw: float, how: Literal["none", "sigmoid"] | Standardize) -> float:
    if how == "sigmoid":
        return sigmoid(raw)
    if isinstance(how, Standardize):
        return (raw - how.mean) / how.std
    return raw


class RewardModelGrader(Grader[RewardModelSpec]):
    spec_type: ClassVar = RewardModelSpec
    version = "1"

    def __init__(self, spec: RewardModelSpec, context: GraderContext) -> None:
        super().__init__(spec, context)
        self.need = ServerNeed(spec.model, "reward", spec.batch_size, spec.batch_wait_ms)

    async def _rewards(self, prompts: list[str], completions: list[str]) -> tuple[list[float], dict[int, Score]]:
        """Raw rewards of the pairs that render, and an error score for each that does not."""
        spec = self.spec
        tokenizer = await tokenizers(self.context).get(spec.model)
        texts, failed = render_each(lambda i: render(tokenizer, prompts[i], completions[i]), len(prompts))
        raw = await model_servers(self.context).call(
            self.need, lambda client: client.rewards(texts, spec.max_length, spec.request_timeout_s,
                                                     share=spec.batch_size > 1))
        return raw, failed

    async def grade(self, samples: list[Sample]) -> list[Score]:
        try:
            raw, failed = await self._rewards([s.prompt for s in samples], [s.completion for s in samples])
        except Exception as exc:  # noqa: BLE001 - a model that cannot load, run or be reached is machinery
            return [Score.failed(f"reward model {self.spec.model!r} failed: {exc}"[:500]) for _ in samples]
        scored = [Score(reward=_normalize(r, self.spec.normalize), details={"raw": r}) for r in raw]
        return merge(failed, scored, len(samples))

    async def compare(self, prompt: str, a: str, b: str) -> dict[str, float]:
        """P(a preferred over b) = sigmoid(r_a - r_b) under the Bradley-Terry model, with both rewards."""
        raw, failed = await self._rewards([prompt, prompt], [a, b])
        if failed:
            raise ValueError(next(iter(failed.values())).error)
        r_a, r_b = raw
        return {"probability": sigmoid(r_a - r_b), "reward_a": r_a, "reward_b": r_b}
