"""Rewards for rollouts: weighted graders through the reward service (or in-process), on a background loop.

`Scorer.submit` returns at once with a future, so the trainer generates the next batch while this
one is scored. Samples whose score carries an `error` (machinery failure) are marked invalid and
never reach the loss; a service that stays down through the client's retry budget drops the whole batch.
Warnings name the training step as `metrics.jsonl` numbers it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from rewards.types import Sample, Score
from trainer.config import RewardConfig

log = logging.getLogger("rlvr.trainer")


class ScoringBackend(Protocol):
    """What the scorer needs of a reward backend; the HTTP client and the in-process service both have it."""

    async def score_batch(self, grader: str | dict[str, Any], samples: list[Sample], /) -> list[Score]: ...


@dataclass
class BatchRewards:
    """A scored batch: weighted total per sample, whether it may be trained on, and each grader's own rewards."""

    total: list[float]
    valid: list[bool]
    by_grader: dict[str, list[float]]
    timeouts: int = 0  # samples a grader gave up on (reward 0, details.timeout): counted and warned, never silent
    scores: list[list[Score]] = field(default_factory=list)  # per grader (config order): details for the monitors

    def version(self, index: int) -> str | None:
        """The grader version behind sample `index`'s reward (`name@v+...` when several graders weigh in)."""
        versions = [(name, graded[index].version) for name, graded in zip(self.by_grader, self.scores, strict=False)]
        if len(versions) == 1:
            return versions[0][1]
        return "+".join(f"{name}@{v}" for name, v in versions) or None

    def score(self, index: int) -> Score:
        """Sample `index`'s reward as one Score (what `rlvr rescore-run` compares): the weighted total, the graders'
        errors, `version(index)`; the details of the one grader, or each grader's under `graders` (with the
        first `answer` one extracted, for the report's table)."""
        own = [graded[index] for graded in self.scores]
        if len(own) == 1:
            return own[0].model_copy(update={"reward": self.total[index]})
        errors = [f"{name}: {s.error}" for name, s in zip(self.by_grader, own, strict=True) if s.error is not None]
        details: dict[str, Any] = {"graders": {name: s.model_dump() for name, s in
                                              zip(self.by_grader, own, strict=True)}}
        answer = next((s.details["answer"] for s in own if s.details.get("answer") is not None), None)
        if answer is not None:
            details["answer"] = answer
        return Score(reward=self.total[index], details=details, error="; ".join(errors) or None,
                     version=self.version(index))


def grader_name(grader: str | dict[str, Any], index: int) -> str:
    """A grader's label in metrics: its name, or its spec's type numbered by position (`math`, `format1`)."""
    return grader if isinstance(grader, str) else f"{grader.get('type', 'grader')}{index or ''}"


def combine(cfg: RewardConfig, results: list[list[Score]]) -> BatchRewards:
    """Weighted sum over graders; a sample with an error from any grader is invalid."""
    n = len(results[0])
    total = [sum(w.weight * scores[i].reward for w, scores in zip(cfg.graders, results, strict=True))
             for i in range(n)]
    valid = [all(scores[i].error is None for scores in results) for i in range(n)]
    by_grader = {grader_name(w.grader, k): [s.reward for s in scores]
                 for k, (w, scores) in enumerate(zip(cfg.graders, results, strict=True))}
    timeouts = sum(any(scores[i].details.get("timeout") for scores in results) for i in range(n))
    return BatchRewards(total=total, valid=valid, by_grader=by_grader, timeouts=timeouts, scores=results)


async def score_weighted(backend: ScoringBackend, cfg: RewardConfig, samples: list[Sample]) -> BatchRewards:
    """Every grader of `cfg` on `samples` (concurrently), combined; a failure of the backend raises."""
    results = await asyncio.gather(*(backend.score_batch(w.grader, samples) for w in cfg.graders))
    return combine(cfg, list(results))


class Scorer:
    """Owns a reward backend (HTTP client or in-process service) running on its own event loop thread."""

    def __init__(self, cfg: RewardConfig) -> None:
        self.cfg = cfg
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rlvr-scorer", daemon=True)
        self.thread.start()
        self.backend, self._close_backend = asyncio.run_coroutine_threadsafe(self._open(), self.loop).result()

    async def _open(self) -> tuple[ScoringBackend, Callable[[], Awaitable[None]]]:
        """The backend and how to close it: a client of `cfg.urls`, or else a service started in this process."""
        if self.cfg.urls:
            from rewards.client import AsyncRewardClient

            client = AsyncRewardClient(self.cfg.urls, api_key=self.cfg.api_key, timeout=self.cfg.timeout_s,
                                       retries=self.cfg.retries, retry_budget_s=self.cfg.retry_budget_s)
            return client, client.aclose
        from rewards.service import RewardService
        from rewards.settings import Settings

        service = RewardService(Settings(workers=self.cfg.workers))
        await service.start()
        return service, service.close

    async def _score(self, samples: list[Sample], step: int | None) -> BatchRewards | None:
        where = f"step {step}: " if step is not None else ""
        try:
            rewards = await score_weighted(self.backend, self.cfg, samples)
        except Exception as exc:  # noqa: BLE001 - any failure of the service drops the batch, loudly
            log.warning("%sreward scoring failed, dropping %d samples: %s", where, len(samples), exc)
            return None
        if rewards.timeouts:
            log.warning("%s%d of %d samples timed out in a grader (reward 0); if that is load, not the output, "
                        "raise the grader's timeout_s", where, rewards.timeouts, len(samples))
        return rewards

    def submit(self, samples: list[Sample], step: int | None = None) -> Future[BatchRewards | None]:
        """Score in the background; `step` (as metrics.jsonl numbers it) labels the warnings."""
        return asyncio.run_coroutine_threadsafe(self._score(samples, step), self.loop)

    def score(self, samples: list[Sample]) -> BatchRewards | None:
        """Score and wait; None when the service could not be reached within its retry budget."""
        return self.submit(samples).result()

    def close(self) -> None:
        """Cancel scoring nobody will wait for (the batch after the last step), close the backend, stop."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _shutdown(self) -> None:
        """On the scorer's loop: cancel every scoring task and wait until they have ended (a task still
        retrying would otherwise be destroyed pending), then close the backend."""
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_backend()
