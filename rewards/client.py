"""Sync and async clients of the reward service: pooled connections, retries, several URLs in rotation.

Large batches are split into chunks; the async client sends the chunks concurrently, so replicas
behind several URLs share the work. A request is retried as `rewards.retry` says (which statuses,
Retry-After, backoff) until `retry_budget_s` has passed, so a service restart of a few seconds costs a
trainer nothing; `retries` optionally caps the attempts too. A grader is named by a `GraderRef`: a
configured grader's name, a spec as a dict, or a spec object (`MathSpec()`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from rewards.errors import RewardServiceError
from rewards.retry import RETRYABLE_STATUSES, Backoff, asend, send
from rewards.types import Sample, Score

if TYPE_CHECKING:
    from rewards.graders.base import GraderRef

Item = Sample | dict[str, Any]


class _ClientBase:
    def __init__(
        self,
        urls: str | Sequence[str] = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int | None = None,
        retry_budget_s: float = 60.0,
        backoff_s: float = 0.25,
        max_backoff_s: float = 5.0,
        chunk_size: int = 512,
    ) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ValueError("at least one reward service URL is needed")
        self.urls = [u.rstrip("/") for u in self.urls]
        self._rotation = itertools.cycle(range(len(self.urls)))
        self.retry = Backoff(budget_s=retry_budget_s, base_s=backoff_s, max_s=max_backoff_s, retries=retries)
        self.chunk_size = chunk_size
        self.timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def _next_url(self) -> str:
        return self.urls[next(self._rotation)]

    @staticmethod
    def _body(path: str, response: httpx.Response) -> dict[str, Any]:
        """The JSON answer of a final response; raises for a refusal or a service that never answered usably."""
        if response.status_code in RETRYABLE_STATUSES:
            raise RewardServiceError(f"{path}: no answer after retries: {response.status_code} {response.text[:500]}")
        if response.status_code >= 400:
            raise RewardServiceError(f"{path} answered {response.status_code}: {response.text[:2000]}")
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    def _unreachable(path: str, exc: httpx.TransportError) -> RewardServiceError:
        return RewardServiceError(f"{path}: no answer after retries: {exc!r}")

    def _chunks(self, grader: GraderRef, items: Sequence[Item]) -> Iterator[dict[str, Any]]:
        rows = [i.model_dump() if isinstance(i, Sample) else i for i in items]
        for start in range(0, len(rows), self.chunk_size):
            yield {"grader": _wire(grader), "items": rows[start:start + self.chunk_size]}

    @staticmethod
    def _single(grader: GraderRef, completion: str, prompt: str, reference: Any,
                metadata: dict[str, Any] | None) -> dict[str, Any]:
        return {"grader": _wire(grader), "prompt": prompt, "completion": completion, "reference": reference,
                "metadata": metadata or {}}


def _wire(grader: GraderRef) -> str | dict[str, Any]:
    """A grader reference as the request carries it: a name, or a spec as JSON."""
    return grader.model_dump(mode="json") if isinstance(grader, BaseModel) else grader


class RewardClient(_ClientBase):
    """Blocking client; one connection pool, safe to share between threads."""

    def __init__(self, urls: str | Sequence[str] = "http://127.0.0.1:8000", **kwargs: Any) -> None:
        super().__init__(urls, **kwargs)
        self._http = httpx.Client(timeout=self.timeout, headers=self.headers)

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = send(lambda: self._http.post(self._next_url() + path, json=payload), self.retry)
        except httpx.TransportError as exc:
            raise self._unreachable(path, exc) from exc
        return self._body(path, response)

    def score(self, grader: GraderRef, completion: str, prompt: str = "", reference: Any = None,
              metadata: dict[str, Any] | None = None) -> Score:
        return Score(**self._post("/v1/score", self._single(grader, completion, prompt, reference, metadata)))

    def score_batch(self, grader: GraderRef, items: Sequence[Item]) -> list[Score]:
        return [Score(**r) for chunk in self._chunks(grader, items)
                for r in self._post("/v1/score/batch", chunk)["results"]]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRewardClient(_ClientBase):
    """Asyncio client; chunks of a large batch go out concurrently."""

    def __init__(self, urls: str | Sequence[str] = "http://127.0.0.1:8000", *, max_connections: int = 64,
                 **kwargs: Any) -> None:
        super().__init__(urls, **kwargs)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(timeout=self.timeout, headers=self.headers, limits=limits)

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await asend(lambda: self._http.post(self._next_url() + path, json=payload), self.retry)
        except httpx.TransportError as exc:
            raise self._unreachable(path, exc) from exc
        return self._body(path, response)

    async def score(self, grader: GraderRef, completion: str, prompt: str = "", reference: Any = None,
                    metadata: dict[str, Any] | None = None) -> Score:
        return Score(**await self._post("/v1/score", self._single(grader, completion, prompt, reference, metadata)))

    async def score_batch(self, grader: GraderRef, items: Sequence[Item]) -> list[Score]:
        replies = await asyncio.gather(*(self._post("/v1/score/batch", c) for c in self._chunks(grader, items)))
        return [Score(**r) for reply in replies for r in reply["results"]]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
