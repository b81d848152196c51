"""The one retry policy of rlvr's HTTP clients: the reward client, the sandbox client and the judge backend.

Which statuses are retried is chosen once, here. Every request these clients send is idempotent (grading is
a function of the request: sending it again can cost time, never double an effect), so every status that can
pass on its own is retried:

- 408 Request Timeout and 425 Too Early: the server did not take the request and asks for it again;
- 409 Conflict: a lock timeout on OpenAI's API, which its own client retries too;
- 429 Too Many Requests: a rate limit (hosted judges) or a full grading queue; Retry-After says when;
- 500 Internal Server Error: transient on hosted LLM APIs (on our services a bug: a retry costs only time);
- 502, 503, 504: a proxy without a live backend, an overloaded or restarting service (ours answer 503 with
  Retry-After when their queues are full).

Any other status is final: a 4xx means the request itself is wrong, and no retry can fix that. A connection
that fails is retried (a replica restarting); a request that was sent and timed out is retried unless the
caller says otherwise (the sandbox does not send again a chunk whose tests may still be running).

Between attempts the client waits what the server's Retry-After asks, else an exponential backoff with jitter
(so clients of one restarted service do not come back in step); no attempt starts after the time budget.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """How long one request is tried, and the waits between its attempts."""

    budget_s: float = 60.0  # no attempt starts later than this after the first
    base_s: float = 0.25  # the first wait; each later one doubles
    max_s: float = 5.0  # cap of a computed wait
    max_retry_after_s: float = 30.0  # cap of the wait a server asks for
    retries: int | None = None  # cap of the attempts after the first, besides the budget
    jitter: float = 0.5  # a computed wait is scaled by a random factor in [1 - jitter, 1 + jitter]

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """The wait after failed attempt number `attempt` (from 0): the server's Retry-After, else the backoff."""
        asked = retry_after_s(response) if response is not None else None
        if asked is not None:
            return min(asked, self.max_retry_after_s)
        wait = min(self.base_s * 2.0**attempt, self.max_s)
        return wait * (1 + self.jitter * (2 * random.random() - 1))


def retry_after_s(response: httpx.Response) -> float | None:
    """The seconds a response's Retry-After asks for (a number or an HTTP date), or None without a usable one."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Attempts:
    """The attempts of one request under a `Backoff`; `pause` says after each one whether and when to go on."""

    def __init__(self, policy: Backoff, *, retry_timeouts: bool = True) -> None:
        self.policy = policy
        self.retry_timeouts = retry_timeouts
        self.started = time.monotonic()
        self.count = 0

    def pause(self, outcome: httpx.Response | httpx.TransportError) -> float | None:
        """The wait before the next attempt, or None when `outcome` is final or the tries are spent."""
        self.count += 1
        if isinstance(outcome, httpx.Response):
            if outcome.status_code not in RETRYABLE_STATUSES:
                return None
        elif isinstance(outcome, httpx.TimeoutException) and not self.retry_timeouts:
            return None
        retries = self.policy.retries
        left = self.policy.budget_s - (time.monotonic() - self.started)
        if (retries is not None and self.count > retries) or left <= 0:
            return None
        response = outcome if isinstance(outcome, httpx.Response) else None
        return min(self.policy.delay(self.count - 1, response), left)


def _final(outcome: httpx.Response | httpx.TransportError) -> httpx.Response:
    if isinstance(outcome, httpx.TransportError):
        raise outcome
    return outcome


def send(request: Callable[[], httpx.Response], policy: Backoff, *, retry_timeouts: bool = True) -> httpx.Response:
    """`request()` again until its answer is final or the tries are spent (blocking).

    Returns the last response: a final one, or a retryable one when the tries ran out (check `status_code`).
    Raises the last transport error when no attempt got an answer.
    """
    attempts = Attempts(policy, retry_timeouts=retry_timeouts)
    while True:
        try:
            outcome: httpx.Response | httpx.TransportError = request()
        except httpx.TransportError as exc:
            outcome = exc
        if (pause := attempts.pause(outcome)) is None:
            return _final(outcome)
        time.sleep(pause)


async def asend(request: Callable[[], Awaitable[httpx.Response]], policy: Backoff, *,
                retry_timeouts: bool = True) -> httpx.Response:
    """`send` for asyncio: `request()` is awaited, and the waits do not block the loop."""
    attempts = Attempts(policy, retry_timeouts=retry_timeouts)
    while True:
        try:
            outcome: httpx.Response | httpx.TransportError = await request()
        except httpx.TransportError as exc:
            outcome = exc
        if (pause := attempts.pause(outcome)) is None:
            return _final(outcome)
        await asyncio.sleep(pause)
