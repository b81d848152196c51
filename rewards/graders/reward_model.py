"""Bradley-Terry reward models: one scalar per (prompt, completion) from a sequence classifier, batched.

The model is loaded once per process (lazily, on first use) and shared by every grader naming it;
concurrent requests are gathered into one padded forward pass by a dynamic batcher.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from rewards.graders.base import Grader, SpecBase
from rewards.types import Sample, Score


class Standardize(BaseModel):
    """Shift and scale raw rewards: (r - mean) / std."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: float
    std: float = Field(gt=0)


class BatchingSpec(SpecBase):
    """How concurrent requests are batched into forward passes (shared by model-backed specs)."""

    max_length: int = Field(default=2048, gt=0, le=131072, description="Tokens kept per input (truncated).")
    batch_size: int = Field(default=32, ge=1, le=1024, description="Most inputs per forward pass; 1 = no batching.")
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000, description="How long a batch waits to fill up.")


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

    async def _model(self) -> tuple[Any, Any]:
        from rewards.models.forward import sequence_rewards
        from rewards.models.shared import shared_batcher

        max_length = self.spec.max_length
        return await shared_batcher(
            self.context.resources.models, self.spec.model, "reward", lambda lm, texts: sequence_rewards(lm, texts, max_length),
            key=(max_length,), max_batch=self.spec.batch_size, wait_ms=self.spec.batch_wait_ms,
        )

    async def grade(self, samples: list[Sample]) -> list[Score]:
        from rewards.models.shared import merge, render_each
        from rewards.models.text import render

        try:
            lm, batcher = await self._model()
            texts, failed = render_each(
                lambda i: render(lm.tokenizer, samples[i].prompt, samples[i].completion), len(samples))
            raw = await batcher.submit(texts)
        except Exception as exc:  # noqa: BLE001 - a model that cannot load or run is a machinery failure
            return [Score.failed(f"reward model {self.spec.model!r} failed: {exc}"[:500]) for _ in samples]
        scored = [Score(reward=_normalize(r, self.spec.normalize), details={"raw": r}) for r in raw]
        return merge(failed, scored, len(samples))

    async def compare(self, prompt: str, a: str, b: str) -> dict[str, float]:
        """P(a preferred over b) = sigmoid(r_a - r_b) under the Bradley-Terry model, with both rewards."""
        from rewards.models.text import render

        lm, batcher = await self._model()
        r_a, r_b = await batcher.submit([render(lm.tokenizer, prompt, a), render(lm.tokenizer, prompt, b)])
        return {"probability": sigmoid(r_a - r_b), "reward_a": r_a, "reward_b": r_b}
