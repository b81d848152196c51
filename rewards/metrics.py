"""Prometheus metrics of one service instance (own registry, so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from rewards.cache import HIT_TIERS, ScoreCache
from rewards.hacking import nested_details, signs
from rewards.pool import WorkerPool
from rewards.types import Score

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
REWARD_BUCKETS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


class Metrics:
    def __init__(self, pool: WorkerPool, cache: ScoreCache | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rlvr_requests", "HTTP requests", ["route", "status"], registry=self.registry)
        self.latency = Histogram(
            "rlvr_request_seconds", "Request latency", ["route"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.rewards = Histogram(
            "rlvr_reward", "Rewards given", ["grader"], buckets=REWARD_BUCKETS, registry=self.registry
        )
        self.timeouts = Counter("rlvr_grader_timeouts", "Samples past their time budget", ["grader"],
                                registry=self.registry)
        self.errors = Counter("rlvr_grader_errors", "Scores with a machinery error", ["grader"],
                              registry=self.registry)
        self.injections = Counter("rlvr_judge_injections", "Completions blocked unjudged for addressing the judge",
                                  ["grader", "rule"], registry=self.registry)
        self.hacking = Counter("rlvr_hacking_signs", "Scores showing a sign of reward hacking (rewards.hacking: "
                               "spam, injection, harness, timeout)", ["grader", "sign"], registry=self.registry)
        queue = Gauge("rlvr_pool_queue_depth", "Samples waiting for a grading worker", registry=self.registry)
        queue.set_function(lambda: pool.waiting)
        workers = Gauge("rlvr_pool_workers", "Grading worker processes", registry=self.registry)
        workers.set_function(lambda: pool.size)
        if cache is not None:
            self.registry.register(CacheCollector(cache))

    def observe_scores(self, grader: str, scores: list[Score]) -> None:
        for score in scores:
            if score.error is not None:
                self.errors.labels(grader).inc()
                continue
            self.rewards.labels(grader).observe(score.reward)
            for rule in _injection_rules(score.details):
                self.injections.labels(grader, rule).inc()
            for sign in signs(score):
                self.hacking.labels(grader, sign).inc()
            if score.is_timeout:
                self.timeouts.labels(grader).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class CacheCollector(Collector):
    """The reward cache's counts per grader kind: hits by tier, misses (graded), bypasses (not cacheable)."""

    def __init__(self, cache: ScoreCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[CounterMetricFamily]:
        hits = CounterMetricFamily("rlvr_cache_hits", "Samples served by the reward cache", labels=["grader", "tier"])
        misses = CounterMetricFamily("rlvr_cache_misses", "Samples the reward cache sent to be graded",
                                     labels=["grader"])
        bypassed = CounterMetricFamily("rlvr_cache_bypassed", "Samples graded without the cache (graders that "
                                       "sample, or the cache off)", labels=["grader"])
        for (grader, outcome), n in sorted(self.cache.counts.items()):
            if outcome in HIT_TIERS:
                hits.add_metric([grader, outcome], n)
            else:
                (misses if outcome == "miss" else bypassed).add_metric([grader], n)
        store_errors = CounterMetricFamily("rlvr_cache_store_errors", "Failed reads and writes of the shared store")
        store_errors.add_metric([], self.cache.store.failures if self.cache.store is not None else 0)
        yield from (hits, misses, bypassed, store_errors)


def _injection_rules(details: dict[str, Any]) -> list[str]:
    """The injection rules that blocked this score or, in a multi grader, its sub-scores."""
    return [str(d["injection"].get("rule")) for d in nested_details(details) if isinstance(d.get("injection"), dict)]
