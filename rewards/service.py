"""The reward service without HTTP: resolves grader specs, builds and caches graders, scores batches.

Scores go through the reward cache (rewards/cache.py) and carry their grader's version.

The API routes call this; so can a single-process trainer that wants no server.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections import OrderedDict
from typing import Any

from pydantic import ValidationError

from rewards.cache import ScoreCache, grader_version
from rewards.errors import ForbiddenResource, GraderBuildError, InvalidGrader, UnknownGrader
from rewards.graders import GRADERS, Grader, GraderContext, SpecBase, parse_spec
from rewards.graders.base import GraderRef
from rewards.pool import WorkerPool
from rewards.settings import Settings
from rewards.types import Sample, Score

log = logging.getLogger("rlvr.service")


class RewardService:
    """Holds the worker pool, the named graders and a cache of built graders."""

    def __init__(self, settings: Settings | None = None, *, grader_cache_size: int = 256) -> None:
        self.settings = settings or Settings()
        self.pool = WorkerPool(self.settings.workers, memory_mb=self.settings.worker_memory_mb)
        self.context = GraderContext(
            pool=self.pool, default_timeout_s=self.settings.timeout_s, settings=self.settings, build=self.grader_for
        )
        self.named: dict[str, SpecBase] = {}
        for name, spec in self.settings.graders.items():
            try:
                self.named[name] = parse_spec(spec)
            except ValidationError as exc:
                raise ValueError(f"named grader {name!r} is invalid: {exc}") from exc
        self._graders: OrderedDict[str, Grader[Any]] = OrderedDict()
        self._cache_size = grader_cache_size
        self._build_lock = asyncio.Lock()
        self.cache = ScoreCache(self.settings.cache)

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        for grader in self._graders.values():
            await grader.aclose()
        self._graders.clear()
        await self.context.resources.aclose()
        await self.cache.aclose()
        await self.pool.close()

    def known(self) -> list[str]:
        return sorted(self.named) + sorted(GRADERS)

    def resolve(self, grader: GraderRef, *, from_request: bool = False) -> SpecBase:
        """A spec from a name, a dict or a spec.

        Raises UnknownGrader, InvalidGrader, or ForbiddenResource for a spec sent in a request
        that uses a model, URL or file outside `settings.inline_allow`.
        """
        if isinstance(grader, SpecBase):
            return grader
        if isinstance(grader, str):
            if grader in self.named:
                return self.named[grader]
            if grader not in GRADERS:
                raise UnknownGrader(f"unknown grader {grader!r}; known: {', '.join(self.known())}")
            grader = {"type": grader}
        try:
            spec = parse_spec(grader)
        except ValidationError as exc:
            raise InvalidGrader([dict(e) for e in exc.errors(include_url=False, include_context=False)]) from exc
        if from_request:
            allowed = self.settings.inline_allow
            if denied := [r for r in spec.resources() if not any(fnmatch.fnmatchcase(r, p) for p in allowed)]:
                raise ForbiddenResource(
                    f"a grader spec sent in a request may not use {denied}: define it as a named grader in the "
                    "server config, or allow it with server.inline_allow (glob patterns)")
        return spec

    async def grader_for(self, spec: GraderRef) -> Grader[Any]:
        """The built grader for a spec, built once and kept in an LRU cache."""
        spec = self.resolve(spec)
        key = spec.model_dump_json()
        if (grader := self._graders.get(key)) is None:
            async with self._build_lock:
                if (grader := self._graders.get(key)) is None:
                    try:
                        grader = GRADERS[spec.type](spec, self.context)
                    except (OSError, ValueError) as exc:
                        raise GraderBuildError(f"cannot build the {spec.type} grader: {exc}") from exc
                    self._graders[key] = grader
                    if len(self._graders) > self._cache_size:
                        self._graders.popitem(last=False)
        self._graders.move_to_end(key)
        return grader

    async def score_batch(self, grader: GraderRef, samples: list[Sample]) -> list[Score]:
        """Scores in order, each with its grader's `version`; repeats come from the reward cache.

        A failing grader gives each sample an `error`, never an exception.
        """
        built = await self.grader_for(grader)
        version = grader_version(built.spec)

        async def grade(batch: list[Sample]) -> list[Score]:
            return [s.model_copy(update={"version": version}) for s in await self._grade(built, batch)]

        return await self.cache.score_batch(built.spec, version, samples, grade)

    @staticmethod
    async def _grade(built: Grader[Any], samples: list[Sample]) -> list[Score]:
        try:
            scores = await built.grade(samples)
        except Exception as exc:  # noqa: BLE001 - a grader bug is a machinery failure, not a reward
            log.exception("grader %s failed", type(built).__name__)
            return [Score.failed(f"grader failed: {type(exc).__name__}: {exc}"[:500]) for _ in samples]
        if len(scores) != len(samples):
            return [Score.failed("grader returned the wrong number of scores") for _ in samples]
        return scores

    async def score(self, grader: GraderRef, sample: Sample) -> Score:
        return (await self.score_batch(grader, [sample]))[0]
