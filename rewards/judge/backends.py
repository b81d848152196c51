"""Where judge verdicts come from: an OpenAI-compatible endpoint over httpx (the `local` judge is a private
`rlvr serve-model` behind this same backend: `rewards.judge.local`).

A backend answers `complete(messages, sampling) -> text`. The HTTP backend retries transient failures as
`rewards.retry` says, bounds each request by a timeout and the backend's in-flight requests by a
semaphore. Any failure after the retries raises `JudgeUnavailable` (machinery, not a bad completion).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import OrderedDict
from typing import Any, Protocol

import httpx

from rewards.errors import JudgeUnavailable
from rewards.retry import RETRYABLE_STATUSES, Backoff, asend

Messages = list[dict[str, str]]


class JudgeBackend(Protocol):
    key: str  # identifies backend + model in cache keys

    async def complete(self, messages: Messages, sampling: dict[str, Any]) -> str: ...


class OpenAIBackend:
    """Chat completions on any OpenAI-compatible server (OpenAI, vLLM, `rlvr serve-model`, ...).

    `retries` caps the attempts after the first; all of them together start within `retries + 1` request
    timeouts, so a judge that keeps failing costs a bounded time.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout_s: float, retries: int,
                 concurrency: int) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.key = f"openai:{base_url}:{model}"
        self.retry = Backoff(budget_s=(retries + 1) * timeout_s, max_s=8.0, retries=retries)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(headers=headers, timeout=timeout_s)
        self.limit = asyncio.Semaphore(concurrency)

    async def complete(self, messages: Messages, sampling: dict[str, Any]) -> str:
        body = {"model": self.model, "messages": messages, **sampling}
        attempts = 0

        async def post() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            async with self.limit:
                return await self.client.post(self.url, json=body)

        try:
            response = await asend(post, self.retry)
        except httpx.HTTPError as exc:
            raise JudgeUnavailable(f"judge unreachable after {attempts} attempts: {type(exc).__name__}: {exc}"[:500]
                                   ) from exc
        if response.status_code in RETRYABLE_STATUSES:
            raise JudgeUnavailable(f"judge unreachable after {attempts} attempts: HTTP {response.status_code}: "
                                   f"{response.text[:200]}")
        if response.status_code != 200:
            raise JudgeUnavailable(f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            content = response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise JudgeUnavailable(f"malformed chat completion: {response.text[:300]}") from exc
        if not isinstance(content, str):
            raise JudgeUnavailable(f"malformed chat completion: {response.text[:300]}")
        return content

    async def aclose(self) -> None:
        await self.client.aclose()


class VerdictCache:
    """LRU of judge answers keyed by backend, model, messages and sampling settings."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()

    @staticmethod
    def key(backend: str, messages: Messages, sampling: dict[str, Any]) -> str:
        raw = json.dumps([backend, messages, sampling], sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: str, value: str) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


def api_key_from_env(name: str | None) -> str | None:
    return os.environ.get(name) if name else None
