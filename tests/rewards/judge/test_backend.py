"""The OpenAI-compatible judge backend against a real HTTP server standing in for a flaky judge provider."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from rewards.errors import JudgeUnavailable
from rewards.judge.backends import OpenAIBackend, VerdictCache
from tests.procs import serve_in_thread


class Provider:
    """A chat-completions endpoint that fails the first `failures` calls and tracks calls in flight."""

    def __init__(self) -> None:
        self.failures = 0
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self.chat)

    async def chat(self, request: Request):  # noqa: ANN201
        body = await request.json()
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            return PlainTextResponse("overloaded", status_code=503)
        if body["model"] == "garbled":
            return PlainTextResponse("not json")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.05)
        self.in_flight -= 1
        text = f"auth={request.headers.get('authorization')} t={body['temperature']}"
        return JSONResponse({"choices": [{"message": {"role": "assistant", "content": text}}]})


@pytest.fixture(scope="module")
def provider():
    provider = Provider()
    with serve_in_thread(provider.app) as url:
        provider.url = url + "/v1"
        yield provider


def backend(provider, model="judge", retries=3, concurrency=4, key="secret"):
    return OpenAIBackend(provider.url, model, key, timeout_s=10, retries=retries, concurrency=concurrency)


async def test_retries_through_transient_failures(provider):
    provider.failures, provider.calls = 2, 0
    text = await backend(provider).complete([{"role": "user", "content": "hi"}], {"temperature": 0})
    assert text == "auth=Bearer secret t=0" and provider.calls == 3


async def test_gives_up_with_an_error(provider):
    provider.failures = 10
    with pytest.raises(JudgeUnavailable, match="after 2 attempts"):
        await backend(provider, retries=1).complete([{"role": "user", "content": "hi"}], {"temperature": 0})
    provider.failures = 0
    with pytest.raises(JudgeUnavailable, match="malformed"):
        await backend(provider, model="garbled").complete([{"role": "user", "content": "hi"}], {"temperature": 0})


async def test_concurrency_limit_per_backend(provider):
    provider.most_in_flight = 0
    judge = backend(provider, concurrency=3)
    await asyncio.gather(*(judge.complete([{"role": "user", "content": str(i)}], {"temperature": 0})
                           for i in range(12)))
    assert provider.most_in_flight == 3


def test_cache_keys_and_eviction():
    cache = VerdictCache(size=2)
    messages = [{"role": "user", "content": "x"}]
    a = VerdictCache.key("openai:u:m", messages, {"temperature": 0})
    assert a != VerdictCache.key("openai:u:m", messages, {"temperature": 0.7})
    assert a != VerdictCache.key("openai:u:other", messages, {"temperature": 0})
    cache.put(a, "A")
    cache.put("b", "B")
    assert cache.get(a) == "A"  # refreshed: "b" is now the oldest
    cache.put("c", "C")
    assert cache.get("b") is None and cache.get(a) == "A" and cache.get("c") == "C"
