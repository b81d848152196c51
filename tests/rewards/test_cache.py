"""The reward cache: repeats are graded once, failures never stick, versions key it, replicas share a Redis store."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rewards.app import create_app
from rewards.cache import cache_key, grader_version, is_cacheable, is_deterministic
from rewards.graders import GRADERS, parse_spec
from rewards.graders.math import MathGrader
from rewards.service import RewardService
from rewards.settings import CacheSettings, Settings
from rewards.types import Sample, Score
from tests.procs import free_port

MATH = {"type": "math"}


def sample(completion: str, reference: Any = "4") -> Sample:
    return Sample(prompt="2+2?", completion=completion, reference=reference)


@pytest.fixture
def graded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The completions the math grader really grades, in order (the cache's misses)."""
    seen: list[str] = []
    real = MathGrader.grade

    async def counting(self: MathGrader, samples: list[Sample]) -> list[Score]:
        seen.extend(s.completion for s in samples)
        return await real(self, samples)

    monkeypatch.setattr(MathGrader, "grade", counting)
    return seen


def test_every_kind_declares_its_own_version() -> None:
    for kind, cls in GRADERS.items():
        assert isinstance(cls.__dict__.get("version"), str) and cls.__dict__["version"], kind


def test_a_multi_version_names_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = parse_spec({"type": "multi", "formula": "acc + fmt", "graders": {"acc": MATH, "fmt": {"type": "format"}}})
    assert grader_version(spec) == f"1(acc={MathGrader.version},fmt=1)"
    monkeypatch.setattr(MathGrader, "version", "2")
    assert grader_version(spec) == "1(acc=2,fmt=1)"


async def test_scores_carry_the_version(service: RewardService) -> None:
    [score] = await service.score_batch(MATH, [sample(r"\boxed{4}")])
    assert score.reward == 1.0 and score.version == MathGrader.version


async def test_identical_samples_in_a_batch_are_graded_once(service: RewardService, graded: list[str]) -> None:
    scores = await service.score_batch(MATH, [sample(r"\boxed{4}"), sample(r"\boxed{5}"), sample(r"\boxed{4}")])
    assert [s.reward for s in scores] == [1.0, 0.0, 1.0]
    assert graded == [r"\boxed{4}", r"\boxed{5}"]
    assert service.cache.counts[("math", "batch")] == 1 and service.cache.counts[("math", "miss")] == 2


async def test_a_different_reference_is_a_different_sample(service: RewardService, graded: list[str]) -> None:
    scores = await service.score_batch(MATH, [sample(r"\boxed{4}"), sample(r"\boxed{4}", reference="5")])
    assert [s.reward for s in scores] == [1.0, 0.0] and len(graded) == 2


async def test_repeats_across_requests_hit_memory(service: RewardService, graded: list[str]) -> None:
    first = await service.score_batch(MATH, [sample(r"\boxed{4}")])
    again = await service.score_batch(MATH, [sample(r"\boxed{4}"), sample(r"\boxed{6}")])
    assert graded == [r"\boxed{4}", r"\boxed{6}"]
    assert again[0] == first[0] and service.cache.counts[("math", "memory")] == 1


async def test_a_version_bump_misses(service: RewardService, graded: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    await service.score_batch(MATH, [sample(r"\boxed{4}")])
    monkeypatch.setattr(MathGrader, "version", "99")
    [score] = await service.score_batch(MATH, [sample(r"\boxed{4}")])
    assert len(graded) == 2 and score.version == "99"


@pytest.mark.parametrize("failure", [Score.failed("sandbox down"), Score.timed_out(2.0)])
async def test_errors_and_timeouts_are_not_cached(service: RewardService, monkeypatch: pytest.MonkeyPatch, failure: Score) -> None:
    calls: list[int] = []

    async def failing(self: MathGrader, samples: list[Sample]) -> list[Score]:
        calls.append(len(samples))
        return [failure.model_copy() for _ in samples]

    monkeypatch.setattr(MathGrader, "grade", failing)
    await service.score_batch(MATH, [sample(r"\boxed{4}")])
    [score] = await service.score_batch(MATH, [sample(r"\boxed{4}")])
    assert calls == [1, 1] and score.version == MathGrader.version


def test_a_timeout_inside_a_multi_is_not_cacheable() -> None:
    inner = Score.timed_out(2.0).model_dump()
    assert not is_cacheable(Score(reward=0.5, details={"graders": {"acc": inner}}))
    assert is_cacheable(Score(reward=0.5, details={"graders": {"acc": Score(reward=1.0).model_dump()}}))
    assert not is_cacheable(Score.wrong("killed its worker", crashed=True))


async def test_a_sampling_judge_bypasses_the_cache_unless_told(service: RewardService) -> None:
    spec = {"type": "judge", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    judge = parse_spec({**spec, "temperature": 0.7})
    in_multi = parse_spec({"type": "multi", "formula": "j", "graders": {"j": judge}})
    assert not is_deterministic(judge) and not is_deterministic(in_multi) and is_deterministic(parse_spec(spec))
    assert service.cache._applies(parse_spec(spec)) and not service.cache._applies(in_multi)
    assert not service.cache._applies(parse_spec({**spec, "cache": False}))  # the judge's own opt-out
    service.cache.settings = CacheSettings(nondeterministic=True)
    assert service.cache._applies(judge)


def test_keys_depend_on_every_part() -> None:
    spec = parse_spec(MATH)
    base = cache_key(spec, "1", sample("x"))
    variants = [cache_key(spec, "2", sample("x")), cache_key(spec, "1", sample("y")),
                cache_key(spec, "1", sample("x", reference="5")),
                cache_key(spec, "1", Sample(prompt="other", completion="x", reference="4")),
                cache_key(spec, "1", Sample(prompt="2+2?", completion="x", reference="4", metadata={"a": 1})),
                cache_key(parse_spec({"type": "math", "timeout_s": 3}), "1", sample("x"))]
    assert base is not None and base not in variants and len(set(variants)) == len(variants)


async def test_metrics_show_hits_and_misses() -> None:
    app = create_app(Settings(workers=1))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        items = [{"completion": r"\boxed{4}", "reference": "4"}] * 3
        for _ in range(2):
            response = await client.post("/v1/score/batch", json={"grader": MATH, "items": items})
            assert response.status_code == 200 and response.json()["results"][0]["version"] == MathGrader.version
        text = (await client.get("/metrics")).text  # 6 samples: 1 graded, 4 in-batch repeats, 1 from memory
    assert 'rlvr_cache_misses_total{grader="math"} 1.0' in text
    assert 'rlvr_cache_hits_total{grader="math",tier="batch"} 4.0' in text
    assert 'rlvr_cache_hits_total{grader="math",tier="memory"} 1.0' in text


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: make install puts it in (apt-get install redis-server)"
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        import redis

        client = redis.Redis(port=port)
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


async def test_two_replicas_share_one_redis(redis_url: str, graded: list[str]) -> None:
    replicas = [RewardService(Settings(workers=1, cache=CacheSettings(url=redis_url))) for _ in range(2)]
    for replica in replicas:
        await replica.start()
    try:
        [a] = await replicas[0].score_batch(MATH, [sample(r"\boxed{4}", reference="redis")])
        [b] = await replicas[1].score_batch(MATH, [sample(r"\boxed{4}", reference="redis")])
        assert a == b and len(graded) == 1
        assert replicas[1].cache.counts[("math", "store")] == 1
        [c] = await replicas[0].score_batch(MATH, [sample(r"\boxed{7}", reference="redis")])
        assert c.reward == 0.0 and len(graded) == 2  # a new sample is still graded
    finally:
        for replica in replicas:
            await replica.close()


async def test_a_store_that_is_down_only_costs_its_hits(graded: list[str]) -> None:
    svc = RewardService(Settings(workers=1, cache=CacheSettings(url=f"redis://127.0.0.1:{free_port()}/0")))
    await svc.start()
    try:
        [score] = await svc.score_batch(MATH, [sample(r"\boxed{4}")])
        [again] = await svc.score_batch(MATH, [sample(r"\boxed{4}")])
    finally:
        await svc.close()
    assert score.reward == again.reward == 1.0 and score.error is None
    assert len(graded) == 1 and svc.cache.store is not None and svc.cache.store.failures >= 2
