"""The reward service's client of the code sandbox: one shared HTTP client, jobs sent in chunks, rotating URLs,
retries."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from typing import Any

import httpx

RETRYABLE_STATUS = {502, 503, 504}


class SandboxUnavailable(RuntimeError):
    """No sandbox answered after the retries (down, overloaded, or rejecting the request)."""


Outcome = dict[str, Any] | SandboxUnavailable  # a job's JudgeResult, or why it has none


class SandboxClient:
    """POSTs judge jobs to /v1/judge/batch, a chunk per request, spread over `urls`; connection errors and 503s
    move a chunk on to the next URL after a pause, for up to `retry_budget_s` (a sandbox restart within it
    costs no job).

    One request per chunk instead of one per job keeps the HTTP cost on both sides small next to the runs.
    """

    def __init__(self, urls: list[str], *, max_chunk: int = 16, max_in_flight: int = 16,
                 retry_budget_s: float = 30.0, backoff_s: float = 0.25, max_backoff_s: float = 2.0,
                 slack_s: float = 60.0) -> None:
        if not urls:
            raise SandboxUnavailable("no sandbox configured (rlvr serve starts one unless --sandbox-url is given)")
        self.urls = [u.rstrip("/") for u in urls]
        self._order = itertools.cycle(range(len(self.urls)))
        self._slots = asyncio.Semaphore(max_in_flight)
        self.max_chunk = max_chunk
        self.retry_budget_s = retry_budget_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.slack_s = slack_s
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=max_in_flight))

    async def judge_many(self, jobs: list[dict[str, Any]], work_s: list[float]) -> list[Outcome]:
        """Each job's JudgeResult, or the SandboxUnavailable that stopped it, in order.

        `work_s`: each job's longest run time (its tests' wall limits). A chunk may wait behind the others, so
        it gets all of them plus slack: a bound for a sandbox that stopped answering, not a deadline.
        Chunks are small enough that every URL gets at least two, so a batch spreads over all sandboxes.
        """
        size = max(1, min(self.max_chunk, math.ceil(len(jobs) / (2 * len(self.urls)))))
        timeout_s = self.slack_s + sum(work_s)
        outcomes: list[Outcome] = []
        chunks = [jobs[start:start + size] for start in range(0, len(jobs), size)]
        for results in await asyncio.gather(*(self._judge_chunk(chunk, timeout_s) for chunk in chunks)):
            outcomes.extend(results)
        return outcomes

    async def _judge_chunk(self, jobs: list[dict[str, Any]], timeout_s: float) -> list[Outcome]:
        try:
            body = await self._post({"jobs": jobs}, timeout_s)
        except SandboxUnavailable as exc:
            return [exc] * len(jobs)
        except (ValueError, TypeError) as exc:  # e.g. a reference value JSON cannot carry (NaN)
            return [SandboxUnavailable(f"the jobs could not be sent: {type(exc).__name__}: {exc}")] * len(jobs)
        return [item["result"] if item.get("error") is None
                else SandboxUnavailable(f"the sandbox refused the job: {item['error']}") for item in body["results"]]

    async def _post(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """The JSON answer of /v1/judge/batch; raises SandboxUnavailable with the last reason."""
        reason = ""
        async with self._slots:
            started = time.monotonic()
            for attempt in itertools.count():
                url = self.urls[next(self._order)]
                wait = self.backoff_s * 2**attempt
                try:
                    response = await self.http.post(url + "/v1/judge/batch", json=payload, timeout=timeout_s)
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
                    wait = max(wait, float(response.headers.get("Retry-After", "0") or 0))
                left = self.retry_budget_s - (time.monotonic() - started)
                if left <= 0:
                    break
                await asyncio.sleep(min(wait, self.max_backoff_s, left))
        raise SandboxUnavailable(f"sandbox unavailable for {self.retry_budget_s:.0f}s; last: {reason}")

    async def aclose(self) -> None:
        await self.http.aclose()
