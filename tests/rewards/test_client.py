"""The clients and the trainer adapters against a real server."""

import time

import httpx
import pytest

from rewards.client import AsyncRewardClient, RewardClient
from rewards.errors import RewardServiceError
from rewards.integrations import openrlhf
from rewards.integrations.trl import TRLReward, completion_text
from tests.procs import free_port

BOXED = "so the answer is \\boxed{4}"


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_sync_score_and_batch(server):
    with RewardClient(server) as client:
        assert client.score("math", BOXED, reference="4").reward == 1.0
        scores = client.score_batch("math", [{"completion": BOXED, "reference": str(i)} for i in range(3, 6)])
    assert [s.reward for s in scores] == [0.0, 1.0, 0.0]


def test_rotation_skips_a_dead_replica(server):
    with RewardClient([dead_url(), server], retries=3, backoff_s=0.01) as client:
        assert all(client.score("math", BOXED, reference="4").reward == 1.0 for _ in range(4))


def test_gives_up_with_a_clear_error_when_all_are_down():
    with RewardClient([dead_url()], retries=2, backoff_s=0.01) as client, pytest.raises(RewardServiceError) as exc:
        client.score("math", BOXED)
    assert "no answer after retries" in str(exc.value)


def test_client_errors_are_not_retried(server):
    with RewardClient(server, retries=5, backoff_s=5) as client, pytest.raises(RewardServiceError) as exc:
        client.score("nope", BOXED)
    assert "422" in str(exc.value) and "unknown grader" in str(exc.value)


async def test_async_client_chunks_large_batches(server):
    items = [{"completion": f"\\boxed{{{i}}}", "reference": str(i if i % 2 else i + 1)} for i in range(130)]
    async with AsyncRewardClient([server, server], chunk_size=25) as client:
        scores = await client.score_batch("math", items)
    assert [s.reward for s in scores] == [1.0 if i % 2 else 0.0 for i in range(130)]


def test_trl_reward_standard_and_conversational(server):
    reward = TRLReward("math", url=server)
    assert reward.__name__ == "rlvr_math"
    out = reward(prompts=["2+2?", "3+3?"], completions=[BOXED, "\\boxed{5}"], answer=["4", "6"],
                 trainer_state=object(), level=[1, 2])
    assert out == [1.0, 0.0]
    conv = reward(
        prompts=[[{"role": "user", "content": "2+2?"}]],
        completions=[[{"role": "assistant", "content": BOXED}]],
        solution=["4"],
    )
    assert conv == [1.0]


def test_completion_text_joins_assistant_turns():
    conv = [{"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"}, {"role": "assistant", "content": "b"}]
    assert completion_text(conv) == "a\nb"
    assert completion_text("plain") == "plain"


def test_openrlhf_reward_func(server, monkeypatch):
    monkeypatch.setenv("RLVR_URL", server)
    out = openrlhf.reward_func(["Q: A: \\boxed{4}", "Q: A: \\boxed{5}"], ["Q: A: ", "Q: A: "], ["4", "4"])
    assert out["rewards"].tolist() == [1.0, 0.0]


def test_retries_last_for_the_budget_then_give_up():
    with RewardClient([dead_url()], retry_budget_s=1.0, backoff_s=0.05, max_backoff_s=0.2) as client:
        start = time.monotonic()
        with pytest.raises(RewardServiceError):
            client.score("math", BOXED)
        elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 3.0


async def test_a_service_that_comes_back_within_the_budget_is_reached():
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 3:  # down for the first attempts, as during a restart
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"reward": 1.0, "details": {}, "error": None})

    async with AsyncRewardClient("http://127.0.0.1:1", retries=None, retry_budget_s=5, backoff_s=0.05) as client:
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(flaky))
        score = await client.score("math", BOXED, reference="4")
    assert score.reward == 1.0 and calls == 4
