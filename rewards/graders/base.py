"""The one interface every grader implements, and the context graders are built in.

A grader is built once per spec and grades lists of samples asynchronously. CPU-bound kinds
(math, format) supply a pure function `score(spec, sample) -> Score` and inherit `PooledGrader`,
which runs it in the worker pool under the per-sample time budget.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rewards.judge.backends import VerdictCache
from rewards.pool import Outcome, WorkerPool
from rewards.sandbox_client import SandboxClient
from rewards.settings import Settings
from rewards.types import Sample, Score


class SpecBase(BaseModel):
    """Common fields of every grader spec; unknown fields are rejected so typos are 422s."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # NaN/inf tolerances: 422

    type: str = Field(description="The kind of grader; each kind's spec narrows it to its own literal.")
    timeout_s: float | None = Field(
        default=None, gt=0, le=600, description="Per-sample time budget; the server default when unset."
    )

    def resources(self) -> list[str]:
        """Models, URLs and files this spec makes the server load, call or read.

        A spec sent in a request may use only those the server allows (`inline_allow`); named
        graders from the operator's config may use any.
        """
        return []


GraderRef = str | dict[str, Any] | SpecBase  # a configured grader's name, a spec as a dict, or a spec
SpecT = TypeVar("SpecT", bound=SpecBase)
T = TypeVar("T")


class Resources:
    """The clients and caches that the graders of one service share, closed with the service.

    The sandbox client and the judge's verdict cache are fields; a client per model or endpoint (a judge
    endpoint, say) is made once per (type, key) by `shared`.
    """

    def __init__(self, sandbox_urls: Sequence[str] = ()) -> None:
        self._sandbox_urls = list(sandbox_urls)
        self._sandbox: SandboxClient | None = None
        self.judge_cache = VerdictCache()
        self._shared: dict[tuple[type, Hashable], object] = {}

    def sandbox(self) -> SandboxClient:
        """The client of the configured sandboxes, made on first use; raises SandboxUnavailable if none is."""
        if self._sandbox is None:
            self._sandbox = SandboxClient(self._sandbox_urls)
        return self._sandbox

    def shared(self, kind: type[T], key: Hashable, make: Callable[[], T]) -> T:
        """The one `kind` for `key` in this service, made by `make` on first use."""
        found = self._shared.get((kind, key))
        if found is None:
            found = self._shared[(kind, key)] = make()
        if not isinstance(found, kind):
            raise TypeError(f"make() for {kind.__name__} returned a {type(found).__name__}")
        return found

    async def aclose(self) -> None:
        """Close every client held (those with an `aclose`) and forget them."""
        held = [self._sandbox, *self._shared.values()]
        self._sandbox = None
        self._shared.clear()
        for item in held:
            closer = getattr(item, "aclose", None)
            if closer is not None:
                await closer()


@dataclass
class GraderContext:
    """What graders share inside one service process: the worker pool, settings, a builder, and resources."""

    pool: WorkerPool
    default_timeout_s: float = 2.0
    settings: Settings = field(default_factory=Settings)
    build: Callable[[SpecBase], Awaitable[Grader[Any]]] | None = None  # builds (cached) sub-graders, for multi
    resources: Resources = field(init=False)  # made from `settings`

    def __post_init__(self) -> None:
        self.resources = Resources(self.settings.sandbox_urls)


class Grader(ABC, Generic[SpecT]):
    """Grades samples for one spec. Never raises for bad model output.

    Each kind sets `spec_type`, the pydantic model of its spec; the registry reads its `type` literal.

    Each kind also sets `version`, a string that every score it gives carries and that keys the reward cache.
    Rule: bump it in the same change as anything that can alter a verdict of the kind (its parsing, its
    comparison, its prompt, its defaults); a refactor that cannot change a verdict leaves it. A stale version
    would let the cache serve the old behaviour's rewards and hide the change from re-scoring.
    """

    spec_type: ClassVar[type[SpecT]]
    version: ClassVar[str]

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
            return Score.timed_out(self.timeout_s)
        if outcome.fault is not None:
            return Score.wrong(outcome.fault, crashed=True)
        if not isinstance(outcome.value, Score):
            return Score.failed(f"the grader returned {type(outcome.value).__name__}, not a Score")
        return outcome.value
