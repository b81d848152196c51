"""The graders' side of a model server: the client's budget and retries against stub servers, and private
`rlvr serve-model`s started, recovered after a kill, and stopped by `ModelServers`."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import psutil
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from rewards.errors import ModelServerError, ModelServerUnreachable
from rewards.models.client import ModelServerClient
from rewards.models.servers import ModelServers, ServerNeed
from tests.procs import free_port, serve_in_thread
from trainer.tiny_heads import save_tiny_head


class Stub:
    """A /predict and /pooling endpoint that fails the first `failures` calls with 503, or answers late."""

    def __init__(self) -> None:
        self.failures = 0
        self.delay_s = 0.0
        self.calls = 0
        self.sizes: list[int] = []
        self.short = False  # answer one score whatever was sent
        self.app = FastAPI()
        self.app.post("/predict")(self.predict)
        self.app.post("/pooling")(self.pooling)

    async def predict(self, request: Request) -> object:
        """Each text's score is the number it spells."""
        self.calls += 1
        inputs = (await request.json())["inputs"]
        self.sizes.append(len(inputs))
        if self.failures > 0:
            self.failures -= 1
            return PlainTextResponse("loading", status_code=503)
        await asyncio.sleep(self.delay_s)
        answer = [[{"score": float(text), "label": "LABEL_0"}] for (text,) in inputs]
        return JSONResponse(answer[:1] if self.short else answer)

    async def pooling(self) -> object:
        return JSONResponse({"id": "x", "object": "list", "created": 0, "model": "m",
                             "data": [{"index": 1, "object": "pooling", "data": [[0.2, 0.8]]}]})


@pytest.fixture(scope="module")
def stub():
    stub = Stub()
    with serve_in_thread(stub.app) as url:
        stub.url = url
        yield stub


async def test_retries_503_then_answers(stub):
    stub.failures, stub.calls, stub.delay_s = 2, 0, 0.0
    client = ModelServerClient(stub.url, "m")
    assert await client.rewards(["1.5", "-2"], 64, budget_s=10) == [1.5, -2.0]
    assert stub.calls == 3
    await client.aclose()


async def test_a_slow_answer_is_an_error_within_the_budget(stub):
    stub.failures, stub.delay_s = 0, 5.0
    client = ModelServerClient(stub.url, "m")
    start = time.monotonic()
    with pytest.raises(ModelServerError, match="within 0.5s"):
        await client.rewards(["1", "2"], 64, budget_s=0.5)
    assert time.monotonic() - start < 2
    stub.delay_s = 0.0
    await client.aclose()


async def test_concurrent_calls_share_requests_unless_told_not_to(stub):
    client = ModelServerClient(stub.url, "m")
    stub.sizes.clear()
    shared = await asyncio.gather(*(client.rewards([str(i), str(-i)], 64, budget_s=10) for i in range(8)))
    assert shared == [[i, -i] for i in range(8)]  # each caller gets its own scores back
    assert sum(stub.sizes) == 16 and len(stub.sizes) < 8
    stub.sizes.clear()
    alone = await asyncio.gather(*(client.rewards([str(i), "0"], 64, budget_s=10, share=False) for i in range(8)))
    assert alone == [[i, 0] for i in range(8)] and stub.sizes == [2] * 8  # batching off: each call its own request
    stub.sizes.clear()
    many = await client.rewards([str(i) for i in range(5000)], 64, budget_s=30, share=False)
    assert many == list(range(5000)) and sorted(stub.sizes) == [904, 4096]  # no request over the server's cap
    await client.aclose()


async def test_malformed_answers_are_errors(stub):
    client = ModelServerClient(stub.url, "m")
    stub.short = True
    with pytest.raises(ModelServerError, match="one score per input"):
        await client.rewards(["1", "2"], 64, budget_s=5)  # the stub answers one
    stub.short = False
    with pytest.raises(ModelServerError, match="one result per input"):
        await client.step_rows(["a"], 64, budget_s=5)  # the stub answers index 1 only
    assert await client.rewards([], 64, budget_s=5) == []
    await client.aclose()


async def test_nothing_listening_is_unreachable_fast():
    client = ModelServerClient(f"http://127.0.0.1:{free_port()}", "m", retries=2)
    start = time.monotonic()
    with pytest.raises(ModelServerUnreachable):
        await client.rewards(["a"], 64, budget_s=30)
    assert time.monotonic() - start < 5
    await client.aclose()


async def test_configured_urls_are_used_as_given():
    servers = ModelServers({"my-rm": "http://rm.internal:8001/"})
    assert await servers.url(ServerNeed("my-rm", "reward")) == "http://rm.internal:8001"
    await servers.aclose()


def server_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    return next(p.pid for p in psutil.process_iter(["cmdline"])
                if "serve-model" in (p.info["cmdline"] or []) and port in (p.info["cmdline"] or []))


async def test_private_server_is_started_once_replaced_after_a_kill_and_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("RLVR_TORCH_THREADS", "1")
    model = str(save_tiny_head(tmp_path / "rm", "reward", chat_template=False, hidden=32, layers=1))
    servers = ModelServers({})
    need = ServerNeed(model, "reward", batch_size=4)
    urls = await asyncio.gather(*(servers.url(need) for _ in range(3)))
    assert len(set(urls)) == 1  # one server however many asked at once

    async def score(client: ModelServerClient) -> list[float]:
        return await client.rewards(["1+1=2"], 64, budget_s=30)

    first = await servers.call(need, score)
    os.kill(server_pid(urls[0]), signal.SIGKILL)
    with pytest.raises(ModelServerUnreachable):
        await servers.call(need, score)
    assert await servers.call(need, score) == pytest.approx(first, abs=1e-5)  # a fresh server, same model
    fresh = await servers.url(need)
    assert fresh != urls[0]
    await servers.aclose()
    with pytest.raises(httpx.HTTPError):
        httpx.get(fresh + "/healthz", timeout=2)


async def test_a_private_server_that_cannot_start_is_an_error_with_its_reason():
    servers = ModelServers({})
    with pytest.raises(ModelServerError, match="did not start: cannot serve /nonexistent/model"):
        await servers.url(ServerNeed("/nonexistent/model", "reward"))
    await servers.aclose()


async def test_private_servers_are_capped():
    servers = ModelServers({}, limit=0)
    with pytest.raises(ModelServerError, match="limit"):
        await servers.url(ServerNeed("any-model", "reward"))
    await servers.aclose()


def test_spec_values_never_read_as_options():
    import typer

    from rewards.cli import app

    need = ServerNeed("-m", "causal", step_tag="--port", positive_token="--host", negative_token="-")
    command = typer.main.get_command(app).commands["serve-model"]
    params = command.make_context("serve-model", need.args()[1:]).params
    assert params["model"] == "./-m" and params["head"] == "causal"
    assert (params["step_tag"], params["positive_token"], params["negative_token"]) == ("--port", "--host", "-")
    assert params["port"] == 8001  # the tag did not set the port
