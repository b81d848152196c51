"""The reward service's client of the code sandbox: one shared HTTP client, jobs sent in chunks, rotating URLs,
retries (`rewards.retry`)."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Awaitable
from typing import Any

import httpx
from pydantic import ValidationError

from rewards.errors import SandboxUnavailable
from rewards.retry import RETRYABLE_STATUSES, Backoff, asend
from sandbox.models import JudgeBatchResult, JudgeRequest, JudgeResult

TestRun = JudgeResult | SandboxUnavailable  # a job's results, or why it has none


class SandboxClient:
    """POSTs test-run jobs to /v1/judge/batch, a chunk per request, spread over `urls`; connection errors and
    503s move a chunk on to the next URL after a pause, for up to `retry_budget_s` (a sandbox restart within
    it costs no job).

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
        self.retry = Backoff(budget_s=retry_budget_s, base_s=backoff_s, max_s=max_backoff_s)
        self.slack_s = slack_s
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=max_in_flight))

    async def run_tests(self, jobs: list[JudgeRequest], work_s: list[float]) -> list[TestRun]:
        """Each job's test results, or the SandboxUnavailable that stopped it, in order.

        `work_s`: each job's longest run time (its tests' wall limits). A chunk may wait behind the others, so
        it gets all of them plus slack: a bound for a sandbox that stopped answering, not a deadline.
        Chunks are small enough that every URL gets at least two, so a batch spreads over all sandboxes.
        """
        size = max(1, min(self.max_chunk, math.ceil(len(jobs) / (2 * len(self.urls)))))
        timeout_s = self.slack_s + sum(work_s)
        outcomes: list[TestRun] = []
        chunks = [jobs[start:start + size] for start in range(0, len(jobs), size)]
        for results in await asyncio.gather(*(self._run_chunk(chunk, timeout_s) for chunk in chunks)):
            outcomes.extend(results)
        return outcomes

    async def _run_chunk(self, jobs: list[JudgeRequest], timeout_s: float) -> list[TestRun]:
        try:
            answer = await self._post([job.model_dump() for job in jobs], timeout_s)
        except SandboxUnavailable as exc:
            return [exc] * len(jobs)
        except (ValueError, TypeError) as exc:  # e.g. a reference value JSON cannot carry (NaN)
            return [SandboxUnavailable(f"the jobs could not be sent: {type(exc).__name__}: {exc}")] * len(jobs)
        if len(answer.results) != len(jobs):
            return [SandboxUnavailable(f"the sandbox answered {len(answer.results)} results for {len(jobs)} jobs")
                    ] * len(jobs)
        return [item.result if item.result is not None
                else SandboxUnavailable(f"the sandbox refused the job: {item.error}") for item in answer.results]

    async def _post(self, jobs: list[dict[str, Any]], timeout_s: float) -> JudgeBatchResult:
        """The answer of /v1/judge/batch; raises SandboxUnavailable with the last reason.

        A request that timed out is not sent again: its tests may still be running, and the timeout already
        covers all of them.
        """
        async with self._slots:
            def post() -> Awaitable[httpx.Response]:
                return self.http.post(self.urls[next(self._order)] + "/v1/judge/batch", json={"jobs": jobs},
                                      timeout=timeout_s)

            try:
                response = await asend(post, self.retry, retry_timeouts=False)
            except httpx.TimeoutException as exc:
                raise SandboxUnavailable(f"{_origin(exc)} did not answer within {timeout_s:.0f}s") from None
            except httpx.TransportError as exc:
                raise SandboxUnavailable(f"sandbox unavailable for {self.retry.budget_s:.0f}s; last: "
                                         f"{_origin(exc)}: {type(exc).__name__}: {exc}") from None
        reason = f"{_origin(response)} answered {response.status_code}: {response.text[:300]}"
        if response.status_code in RETRYABLE_STATUSES:
            raise SandboxUnavailable(f"sandbox unavailable for {self.retry.budget_s:.0f}s; last: {reason}")
        if response.status_code != 200:
            raise SandboxUnavailable(reason)
        try:
            return JudgeBatchResult.model_validate_json(response.content)
        except ValidationError as exc:
            raise SandboxUnavailable(f"malformed answer from the sandbox: {exc.errors()[:1]}") from None

    async def aclose(self) -> None:
        await self.http.aclose()


def _origin(sent: httpx.Response | httpx.TransportError) -> str:
    """The server a request went to, for messages."""
    try:
        url = sent.request.url
    except RuntimeError:  # an error raised without its request
        return "the sandbox"
    return f"{url.scheme}://{url.netloc.decode()}"
