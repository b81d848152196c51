"""The shared retry policy: which answers are final, what the waits are, and when the tries end."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from rewards.retry import RETRYABLE_STATUSES, Attempts, Backoff, asend, retry_after_s, send

QUICK = Backoff(base_s=0.001, max_s=0.001, jitter=0)


def answering(*statuses: int) -> tuple[list[int], httpx.MockTransport]:
    """A transport answering `statuses` in turn (the last one from then on), and the log of its calls."""
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(statuses[min(len(calls), len(statuses)) - 1])

    return calls, httpx.MockTransport(answer)


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_a_transient_status_is_tried_again(status: int) -> None:
    calls, transport = answering(status, 200)
    with httpx.Client(transport=transport) as http:
        assert send(lambda: http.get("http://x/"), QUICK).status_code == 200
    assert len(calls) == 2


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 413, 422, 501])
def test_any_other_status_is_final(status: int) -> None:
    calls, transport = answering(status, 200)
    with httpx.Client(transport=transport) as http:
        assert send(lambda: http.get("http://x/"), QUICK).status_code == status
    assert len(calls) == 1


def test_retries_caps_the_attempts_and_the_last_answer_is_returned() -> None:
    calls, transport = answering(503)
    with httpx.Client(transport=transport) as http:
        assert send(lambda: http.get("http://x/"), Backoff(base_s=0.001, retries=2)).status_code == 503
    assert len(calls) == 3


def test_no_attempt_starts_after_the_budget() -> None:
    calls, transport = answering(503)
    start = time.monotonic()
    with httpx.Client(transport=transport) as http:
        send(lambda: http.get("http://x/"), Backoff(budget_s=0.3, base_s=0.05, max_s=0.05))
    assert 0.25 < time.monotonic() - start < 1.0 and 3 <= len(calls) <= 8


async def test_a_connection_that_fails_is_retried_then_raised() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(httpx.ConnectError):
            await asend(lambda: http.get("http://x/"), Backoff(base_s=0.001, retries=3))
    assert calls == 4


def test_a_timeout_is_final_when_the_caller_says_so() -> None:
    timeout = httpx.ReadTimeout("slow")
    assert Attempts(QUICK, retry_timeouts=False).pause(timeout) is None
    assert Attempts(QUICK).pause(timeout) == pytest.approx(0.001)


def test_retry_after_replaces_the_backoff_within_its_cap() -> None:
    policy = Backoff(base_s=0.25, max_s=5.0, max_retry_after_s=30.0, jitter=0)
    assert policy.delay(0, httpx.Response(503, headers={"retry-after": "2"})) == 2.0
    assert policy.delay(0, httpx.Response(429, headers={"retry-after": "3600"})) == 30.0
    assert policy.delay(3) == 2.0 and policy.delay(10) == 5.0  # 0.25 * 2**3; then the cap


def test_retry_after_as_a_date_or_garbage() -> None:
    in_ten = httpx.Response(503, headers={"retry-after": formatdate(time.time() + 10, usegmt=True)})
    assert 8.0 < (retry_after_s(in_ten) or 0) <= 10.0
    assert retry_after_s(httpx.Response(503, headers={"retry-after": "soon"})) is None
    assert retry_after_s(httpx.Response(503)) is None


def test_jitter_spreads_the_waits_within_its_bounds() -> None:
    waits = {Backoff(base_s=1.0, max_s=1.0, jitter=0.5).delay(0) for _ in range(50)}
    assert len(waits) > 10 and all(0.5 <= w <= 1.5 for w in waits)
