"""The reward service's client of the code sandbox: one shared HTTP client, rotating URLs, retries."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx

RETRYABLE_STATUS = {502, 503, 504}


class SandboxUnavailable(RuntimeError):
    """No sandbox answered after the retries (down, overloaded, or rejecting the request)."""


class SandboxClient:
    """POSTs to /v1/judge across `urls`; connection errors and 503s move on to the next URL after a pause."""

    def __init__(self, urls: list[str], *, max_in_flight: int = 64, attempts: int = 4, backoff_s: float = 0.25) -> None:
        if not urls:
            raise SandboxUnavailable("no sandbox configured (rlvr serve starts one unless --sandbox-url is given)")
        self.urls = [u.rstrip("/") for u in urls]
        self._order = itertools.cycle(range(len(self.urls)))
        self._slots = asyncio.Semaphore(max_in_flight)
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=max_in_flight))

    async def judge(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """The sandbox's JudgeResult; raises SandboxUnavailable with the last reason."""
        reason = ""
        async with self._slots:
            for attempt in range(self.attempts):
                url = self.urls[next(self._order)]
                try:
                    response = await self.http.post(url + "/v1/judge", json=payload, timeout=timeout_s)
                except httpx.TimeoutException:
                    raise SandboxUnavailable(f"{url} did not answer within {timeout_s:.0f}s") from None
                except httpx.TransportError as exc:
                    reason = f"{url}: {type(exc).__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        return response.json()
                    reason = f"{url} answered {response.status_code}: {response.text[:300]}"
                    if response.status_code not in RETRYABLE_STATUS:
                        raise SandboxUnavailable(reason)
                    wait = float(response.headers.get("Retry-After", "0") or 0)
                    await asyncio.sleep(min(max(wait, self.backoff_s * 2**attempt), 5.0))
                    continue
                await asyncio.sleep(self.backoff_s * 2**attempt)
        raise SandboxUnavailable(f"sandbox unavailable after {self.attempts} attempts; last: {reason}")

    async def aclose(self) -> None:
        await self.http.aclose()
