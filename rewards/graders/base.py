"""The one interface every grader implements, and the context graders are built in.

A grader is built once per spec and grades lists of samples asynchronously. CPU-bound kinds
(math, format) supply a pure function `score(spec, sample) -> Score` and inherit `PooledGrader`,
which runs it in the worker pool under the per-sample time budget.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rewards.pool import Outcome, WorkerPool
from rewards.types import Sample, Score


class SpecBase(BaseModel):
    """Common fields of every grader spec; unknown fields are rejected so typos are 422s."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # NaN/inf tolerances: 422

    timeout_s: float | None = Field(
        default=None, gt=0, le=600, description="Per-sample time budget; the server default when unset."
    )

    def resources(self) -> list[str]:
        """Models, URLs and files this spec makes the server load, call or read.

        A spec sent in a request may use only those the server allows (`inline_allow`); named
        graders from the operator's config may use any.
        """
        return []


SpecT = TypeVar("SpecT", bound=SpecBase)


@dataclass
class GraderContext:
    """What graders share inside one service process: the worker pool, settings, and a builder."""

    pool: WorkerPool
    default_timeout_s: float = 2.0
    settings: Any = None
    build: Callable[[Any], Awaitable[Grader]] | None = None  # builds (cached) sub-graders, for multi
    resources: dict[str, Any] = field(default_factory=dict)  # shared clients and loaded models


class Grader(ABC, Generic[SpecT]):
    """Grades samples for one spec. Never raises for bad model output."""

    def __init__(self, spec: SpecT, context: GraderContext) -> None:
        self.spec = spec
        self.context = context

    @property
    def timeout_s(self) -> float:
        return self.spec.timeout_s or self.context.default_timeout_s

    @abstractmethod
    async def grade(self, samples: list[Sample]) -> list[Score]:
        """Scores in the order of `samples`."""

    async def aclose(self) -> None:
        """Release what the grader holds (clients, models)."""


class PooledGrader(Grader[SpecT]):
    """A grader whose work is a pure function run in the worker pool.

    Only a Score the function returned, a timeout, or a fault of the sample (it killed its worker
    twice, ran out of memory) is a verdict; every other way out of the pool is an `error`.
    """

    score_fn: ClassVar[Callable[[Any, Sample], Score]]

    async def grade(self, samples: list[Sample]) -> list[Score]:
        fn = type(self).score_fn
        outcomes = await self.context.pool.map(fn, [(self.spec, s) for s in samples], timeout=self.timeout_s)
        return [self._verdict(outcome) for outcome in outcomes]

    def _verdict(self, outcome: Outcome) -> Score:
        if outcome.error is not None:
            return Score.failed(outcome.error)
        if outcome.timeout:
            return Score(reward=0.0, details={"timeout": True, "timeout_s": self.timeout_s})
        if outcome.fault is not None:
            return Score(reward=0.0, details={"crashed": True, "reason": outcome.fault})
        if not isinstance(outcome.value, Score):
            return Score.failed(f"the grader returned {type(outcome.value).__name__}, not a Score")
        return outcome.value
