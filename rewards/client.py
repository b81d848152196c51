"""Sync and async clients of the reward service: pooled connections, retries, several URLs in rotation.

Large batches are split into chunks; the async client sends the chunks concurrently, so replicas
behind several URLs share the work. A request is retried with exponential backoff (honouring
Retry-After) until `retry_budget_s` has passed, so a service restart of a few seconds costs a
trainer nothing; `retries` optionally caps the attempts too.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from rewards.types import Sample, Score

Grader = str | dict[str, Any]
Item = Sample | dict[str, Any]
RETRY_STATUSES = {429, 500, 502, 503, 504}


class RewardServiceError(RuntimeError):
    """The service refused the request (4xx) or stayed unreachable through every retry."""


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
        self.retries = retries
        self.retry_budget_s = retry_budget_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.chunk_size = chunk_size
        self.timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def _next_url(self) -> str:
        return self.urls[next(self._rotation)]

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            return min(float(retry_after), 30.0)
        return min(self.backoff_s * 2**attempt, self.max_backoff_s)

    def _pause(self, attempt: int, response: httpx.Response | None, started: float) -> float | None:
        """How long to wait before the next attempt, or None when the attempts or the budget are spent."""
        if self.retries is not None and attempt >= self.retries:
            return None
        delay = self._delay(attempt, response)
        left = self.retry_budget_s - (time.monotonic() - started)
        return None if left <= 0 else min(delay, left)

    @staticmethod
    def _verdict(response: httpx.Response) -> bool:
        """True when the response is final; raises on a client error that no retry can fix."""
        if response.status_code in RETRY_STATUSES:
            return False
        if response.status_code >= 400:
            raise RewardServiceError(f"{response.request.url.path} answered {response.status_code}: {response.text[:2000]}")
        return True

    def _chunks(self, grader: Grader, items: Sequence[Item]) -> Iterator[dict[str, Any]]:
        rows = [i.model_dump() if isinstance(i, Sample) else i for i in items]
        for start in range(0, len(rows), self.chunk_size):
            yield {"grader": grader, "items": rows[start:start + self.chunk_size]}

    @staticmethod
    def _single(grader: Grader, completion: str, prompt: str, reference: Any, metadata: dict | None) -> dict:
        return {"grader": grader, "prompt": prompt, "completion": completion, "reference": reference,
                "metadata": metadata or {}}

    @staticmethod
    def _gave_up(path: str, last: Exception | httpx.Response | None) -> RewardServiceError:
        reason = f"{last.status_code} {last.text[:500]}" if isinstance(last, httpx.Response) else repr(last)
        return RewardServiceError(f"{path}: no answer after retries: {reason}")


class RewardClient(_ClientBase):
    """Blocking client; one connection pool, safe to share between threads."""

    def __init__(self, urls: str | Sequence[str] = "http://127.0.0.1:8000", **kwargs: Any) -> None:
        super().__init__(urls, **kwargs)
        self._http = httpx.Client(timeout=self.timeout, headers=self.headers)

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        last: Exception | httpx.Response | None = None
        started = time.monotonic()
        for attempt in itertools.count():
            response = None
            try:
                response = self._http.post(self._next_url() + path, json=payload)
                if self._verdict(response):
                    return response.json()
                last = response
            except httpx.TransportError as exc:
                last = exc
            if (pause := self._pause(attempt, response, started)) is None:
                break
            time.sleep(pause)
        raise self._gave_up(path, last)

    def score(self, grader: Grader, completion: str, prompt: str = "", reference: Any = None,
              metadata: dict[str, Any] | None = None) -> Score:
        return Score(**self._post("/v1/score", self._single(grader, completion, prompt, reference, metadata)))

    def score_batch(self, grader: Grader, items: Sequence[Item]) -> list[Score]:
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
        last: Exception | httpx.Response | None = None
        started = time.monotonic()
        for attempt in itertools.count():
            response = None
            try:
                response = await self._http.post(self._next_url() + path, json=payload)
                if self._verdict(response):
                    return response.json()
                last = response
            except httpx.TransportError as exc:
                last = exc
            if (pause := self._pause(attempt, response, started)) is None:
                break
            await asyncio.sleep(pause)
        raise self._gave_up(path, last)

    async def score(self, grader: Grader, completion: str, prompt: str = "", reference: Any = None,
                    metadata: dict[str, Any] | None = None) -> Score:
        return Score(**await self._post("/v1/score", self._single(grader, completion, prompt, reference, metadata)))

    async def score_batch(self, grader: Grader, items: Sequence[Item]) -> list[Score]:
        replies = await asyncio.gather(*(self._post("/v1/score/batch", c) for c in self._chunks(grader, items)))
        return [Score(**r) for reply in replies for r in reply["results"]]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
