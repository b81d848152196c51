"""The reward cache: a sample graded once is not graded again while its grader's behaviour stays the same.

RL repeats itself: a GRPO group holds identical completions, and a policy that has learnt an answer gives it
again step after step. The key of a score is a hash of (the grader spec as canonical JSON, the grader's version,
prompt, completion, reference, metadata), so a changed spec or a bumped `Grader.version` misses. Three tiers:
identical samples within one batch are graded once; an in-memory LRU serves repeats across requests; an optional
Redis store (`cache: {url: redis://...}`) serves them across replicas.

Never cached: scores with an `error` (the machinery failed, a retry may succeed), timeouts and crashes (they
depend on the machine's load), at any depth of a multi's sub-scores. Graders that sample (any `temperature`
above 0 in the spec) are bypassed, batch dedup included, unless `cache.nondeterministic` is set: a fresh
draw is what such a grader promises. A spec that turns its own caching off (a judge's `cache: false`) is
bypassed too. A sample whose reference or metadata is not JSON is graded uncached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from rewards.graders import GRADERS, SpecBase
from rewards.settings import CacheSettings
from rewards.types import Sample, Score

log = logging.getLogger("rlvr.cache")

KEY_SCHEMA = "1"  # part of every key: bump when what goes into a key, or the stored form, changes
HIT_TIERS = ("batch", "memory", "store")


def _nested_models(value: Any) -> Iterator[tuple[str, BaseModel]]:
    """The pydantic models directly inside a field value (itself, or in a dict or list), with their names."""
    if isinstance(value, BaseModel):
        yield "", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from ((str(key), model) for _, model in _nested_models(item))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _nested_models(item)


def _children(model: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    for field in type(model).model_fields:
        for name, child in _nested_models(getattr(model, field)):
            yield name or field, child


def grader_version(spec: SpecBase) -> str:
    """The version of a spec's kind; a spec made of specs (multi) adds its parts', e.g. `1(acc=1,fmt=2)`."""
    own = GRADERS[spec.type].version
    parts = [f"{name}={grader_version(child)}" for name, child in _children(spec) if isinstance(child, SpecBase)]
    return f"{own}({','.join(parts)})" if parts else own


def _anywhere(model: BaseModel, test: Callable[[BaseModel], bool]) -> bool:
    """Whether `test` holds for the model or any model inside it (a sub-grader, sampling params)."""
    return test(model) or any(_anywhere(child, test) for _, child in _children(model))


def _samples(model: BaseModel) -> bool:
    temperature = getattr(model, "temperature", None)
    return isinstance(temperature, int | float) and temperature > 0


def _opts_out(model: BaseModel) -> bool:
    return getattr(model, "cache", None) is False


def is_deterministic(spec: SpecBase) -> bool:
    """False when the spec or a part of it samples (temperature > 0): the same sample may earn another reward."""
    return not _anywhere(spec, _samples)


def is_cacheable(score: Score) -> bool:
    """A verdict that another grading would repeat: no error, timeout or crash in it or in any sub-score."""
    if score.error is not None or score.is_timeout or score.details.get("crashed") is True:
        return False
    subs = score.details.get("graders")
    if not isinstance(subs, dict):
        return True
    for sub in subs.values():
        if not isinstance(sub, dict):
            continue
        try:
            inner = Score.model_validate(sub)
        except ValidationError:
            return False  # a sub-score we cannot read: do not vouch for it
        if not is_cacheable(inner):
            return False
    return True


def cache_key(spec: SpecBase, version: str, sample: Sample) -> str | None:
    """The hex SHA-256 of the canonical JSON of everything a verdict depends on; None if a field is not JSON."""
    try:
        body = json.dumps(
            [KEY_SCHEMA, spec.model_dump(mode="json"), version, sample.prompt, sample.completion, sample.reference,
             sample.metadata],
            sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False,
        )
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(body.encode()).hexdigest()


class RedisStore:
    """Scores as JSON in Redis under `prefix + key`, expiring after `ttl_s`; shared by the replicas that use it.

    A store that fails (down, slow) costs only its hits: lookups miss and writes are dropped, with a warning.
    """

    def __init__(self, url: str, ttl_s: int | None, prefix: str = "rlvr:score:") -> None:
        import redis.asyncio as aioredis  # the serve extra's; only a configured store needs it

        self._client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._errors: tuple[type[BaseException], ...] = (aioredis.RedisError, OSError)
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.failures = 0

    def _failed(self, action: str, exc: BaseException) -> None:
        self.failures += 1
        log.warning("reward cache store: %s failed: %s: %s", action, type(exc).__name__, exc)

    async def get_many(self, keys: list[str]) -> list[str | None]:
        try:
            values = await self._client.mget([self.prefix + k for k in keys])
        except self._errors as exc:
            self._failed("get", exc)
            return [None] * len(keys)
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    async def put_many(self, items: dict[str, str]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(self.prefix + key, value, ex=self.ttl_s)
                await pipe.execute()
        except self._errors as exc:
            self._failed("put", exc)

    async def aclose(self) -> None:
        await self._client.aclose()


Grade = Callable[[list[Sample]], Awaitable[list[Score]]]


class ScoreCache:
    """The three tiers in front of a grader; `counts[(grader kind, outcome)]` feeds /metrics.

    Outcomes per sample: a hit tier (`batch`, `memory`, `store`), `miss` (graded), or `bypass` (a grader
    that samples, or the cache disabled).
    """

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self._memory: OrderedDict[str, str] = OrderedDict()
        self.store = RedisStore(settings.url, settings.ttl_s) if settings.enabled and settings.url else None
        self.counts: Counter[tuple[str, str]] = Counter()

    def _applies(self, spec: SpecBase) -> bool:
        """Whether to cache this spec's scores: not a sampling grader (unless configured), nor one that opts out of
        caching (a judge's `cache: false`)."""
        if not self.settings.enabled or _anywhere(spec, _opts_out):
            return False
        return self.settings.nondeterministic or is_deterministic(spec)

    def _remember(self, key: str, value: str) -> None:
        if self.settings.size <= 0:
            return
        self._memory[key] = value
        self._memory.move_to_end(key)
        while len(self._memory) > self.settings.size:
            self._memory.popitem(last=False)

    async def _lookup(self, keys: list[str]) -> dict[str, tuple[str, Score]]:
        """Stored scores by key with the tier that had them: memory first, then the store for the rest."""
        found: dict[str, tuple[str, Score]] = {}
        wanted: list[str] = []
        for key in keys:
            if (raw := self._memory.get(key)) is not None:
                self._memory.move_to_end(key)
                found[key] = ("memory", Score.model_validate_json(raw))
            else:
                wanted.append(key)
        if self.store is not None and wanted:
            for key, raw in zip(wanted, await self.store.get_many(wanted), strict=True):
                if raw is None:
                    continue
                try:
                    found[key] = ("store", Score.model_validate_json(raw))
                except ValidationError:
                    continue  # written by another schema: grade afresh, the put below replaces it
                self._remember(key, raw)
        return found

    async def score_batch(self, spec: SpecBase, version: str, samples: list[Sample], grade: Grade) -> list[Score]:
        """Scores in the order of `samples`, grading (through `grade`, which must not raise) only what no tier has."""
        kind = spec.type
        if not self._applies(spec):
            self.counts[(kind, "bypass")] += len(samples)
            return await grade(samples)
        keys = [cache_key(spec, version, sample) for sample in samples]
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key is not None:
                first.setdefault(key, i)
        found = await self._lookup(list(first))
        todo = [i for i, key in enumerate(keys) if key is None or (first[key] == i and key not in found)]
        graded = await grade([samples[i] for i in todo]) if todo else []
        results: dict[int, Score] = dict(zip(todo, graded, strict=True))
        fresh: dict[str, str] = {}
        for i, score in results.items():
            if (key := keys[i]) is not None:
                found[key] = ("miss", score)
                if is_cacheable(score):
                    fresh[key] = score.model_dump_json()
        self.counts[(kind, "miss")] += len(todo)
        out: list[Score] = []
        for i, key in enumerate(keys):
            if i in results:
                out.append(results[i])
                continue
            assert key is not None  # every keyless sample was graded
            tier, score = found[key]
            self.counts[(kind, tier if first[key] == i else "batch")] += 1
            out.append(score.model_copy(deep=True))
        for key, raw in fresh.items():
            self._remember(key, raw)
        if self.store is not None and fresh:
            await self.store.put_many(fresh)
        return out

    async def aclose(self) -> None:
        if self.store is not None:
            await self.store.aclose()
