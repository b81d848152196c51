"""The reward service's client of a model server: `rlvr serve-model`, or TEI / vLLM standing in for it.

One pooled async httpx client per server. Every call has a time budget: past it the call is an error,
never a hang (the server may be busy, stopped, or dead). Failed connections and retryable statuses (a
server starting, draining or overloaded answers 503) are retried a few times within the budget, by
the shared policy of `rewards.retry`. Shapes: `rewards.serving.protocol`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from rewards.errors import ModelServerError, ModelServerUnreachable
from rewards.models.batcher import DynamicBatcher
from rewards.retry import Backoff, asend
from rewards.serving.protocol import MAX_INPUTS, EmbeddingResponse, PoolingResponse, Prediction

COALESCE_MS = 2.0  # how long a call waits for concurrent ones to share its request
IN_FLIGHT = 8  # requests in flight per (server, settings): the server batches these in its turn
_PREDICTIONS = TypeAdapter(list[list[Prediction]])
Shape = TypeVar("Shape", bound=BaseModel)
Result = TypeVar("Result")


def _in_order(found: dict[int, Result], count: int, path: str) -> list[Result]:
    """Results keyed by input index, in input order; ModelServerError unless there is exactly one per input."""
    if sorted(found) != list(range(count)):
        raise ModelServerError(f"{path} did not answer one result per input")
    return [found[i] for i in range(count)]


async def _in_chunks(texts: list[str], send: Callable[[list[str]], Awaitable[Sequence[Any]]]) -> list[Any]:
    """`send` over requests of at most MAX_INPUTS texts (concurrently), results in order."""
    parts = await asyncio.gather(*(send(texts[i:i + MAX_INPUTS]) for i in range(0, len(texts), MAX_INPUTS)))
    return [result for part in parts for result in part]


class ModelServerClient:
    """Calls one model server's `/predict`, `/pooling` and `/v1/embeddings` for the model `model`.

    Concurrent calls with the same settings share HTTP requests: calls that arrive within a few ms go
    together, and so do those that arrive while every slot has a request in flight (an HTTP round trip
    costs the service more CPU than rendering a sample; the model server batches forward passes over
    the requests it has, whoever sent them).
    """

    def __init__(self, base_url: str, model: str, retries: int = 3, connections: int = 16) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.retries = retries
        self.http = httpx.AsyncClient(base_url=self.base_url, limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections))
        self._batchers: dict[tuple[str, int, float], DynamicBatcher[str, Any]] = {}

    async def _shared(self, texts: list[str], kind: str, max_length: int, budget_s: float, share: bool,
                      send: Callable[[list[str], int, float], Awaitable[Sequence[Any]]]) -> list[Any]:
        """`send(texts, max_length, budget_s)` for these texts, with those of concurrent callers if `share`,
        within the budget."""
        if not texts:
            return []
        key = (kind, max_length, budget_s)
        if share and key not in self._batchers:
            self._batchers[key] = DynamicBatcher(lambda batch: send(batch, max_length, budget_s), MAX_INPUTS,
                                                 COALESCE_MS, concurrency=IN_FLIGHT)
        call = self._batchers[key].submit(texts) if share else _in_chunks(texts, lambda part: send(
            part, max_length, budget_s))
        try:  # waiting for a request in flight counts too: the whole call stays within its budget
            return list(await asyncio.wait_for(call, budget_s))
        except TimeoutError as exc:
            raise ModelServerError(f"no answer from model server {self.base_url} within {budget_s:g}s") from exc

    async def post(self, path: str, body: dict[str, Any], budget_s: float) -> Any:
        """The JSON answer to `body` at `path`, within `budget_s` seconds in all (retries included)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s

        def attempt() -> Awaitable[httpx.Response]:  # each attempt gets what is left of the budget
            return self.http.post(path, json=body, timeout=max(0.001, deadline - loop.time()))

        where = f"model server {self.base_url}{path}"
        try:  # a request that timed out is not sent again: the budget is spent
            response = await asend(attempt, Backoff(budget_s=budget_s, base_s=0.2, retries=self.retries),
                                   retry_timeouts=False)
        except httpx.TimeoutException as exc:
            raise ModelServerError(f"no answer from {where} within {budget_s:g}s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise ModelServerUnreachable(f"{where} unreachable: {type(exc).__name__}: {exc}"[:500]) from exc
        if response.status_code != 200:
            raise ModelServerError(f"{where} answered HTTP {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError as exc:
            raise ModelServerError(f"{where} answered non-JSON: {response.text[:200]}") from exc

    async def rewards(self, texts: list[str], max_length: int, budget_s: float, share: bool = True) -> list[float]:
        """A reward model's raw reward per text (TEI `/predict`, raw scores, batch form); `share=False` sends
        these texts alone (batching off)."""
        return await self._shared(texts, "predict", max_length, budget_s, share, self._predict)

    async def step_rows(self, texts: list[str], max_length: int, budget_s: float,
                        share: bool = True) -> list[list[list[float]]]:
        """A PRM's probability rows at each step tag, per text (vLLM `/pooling`, STEP pooling)."""
        return await self._shared(texts, "pooling", max_length, budget_s, share, self._pooling)

    async def embeddings(self, texts: list[str], max_length: int, budget_s: float,
                         share: bool = True) -> list[list[float]]:
        """A sentence embedding per text (OpenAI's `/v1/embeddings`: `rlvr serve-model --head embed`, vLLM, TEI)."""
        return await self._shared(texts, "embeddings", max_length, budget_s, share, self._embeddings)

    async def _predict(self, texts: list[str], max_length: int, budget_s: float) -> list[float]:
        body = {"inputs": [[t] for t in texts], "raw_scores": True, "truncate": True,
                "truncate_prompt_tokens": max_length}
        try:
            rows = _PREDICTIONS.validate_python(await self.post("/predict", body, budget_s))
        except ValidationError as exc:
            raise ModelServerError(f"malformed /predict answer: {exc}"[:500]) from exc
        if len(rows) != len(texts) or any(len(row) != 1 for row in rows):
            raise ModelServerError("/predict did not answer one score per input: is the model a single-output "
                                   "sequence classifier (a reward model)?")
        return [row[0].score for row in rows]

    async def _pooling(self, texts: list[str], max_length: int, budget_s: float) -> list[list[list[float]]]:
        body = {"model": self.model, "input": texts, "truncate_prompt_tokens": max_length}
        answer = await self._answer("/pooling", body, budget_s, PoolingResponse)
        return _in_order({item.index: item.data for item in answer.data}, len(texts), "/pooling")

    async def _embeddings(self, texts: list[str], max_length: int, budget_s: float) -> list[list[float]]:
        body = {"model": self.model, "input": texts, "encoding_format": "float", "truncate_prompt_tokens": max_length}
        answer = await self._answer("/v1/embeddings", body, budget_s, EmbeddingResponse)
        return _in_order({item.index: item.embedding for item in answer.data}, len(texts), "/v1/embeddings")

    async def _answer(self, path: str, body: dict[str, Any], budget_s: float, shape: type[Shape]) -> Shape:
        """The answer at `path`, validated as `shape`; ModelServerError when it is not one."""
        try:
            return shape.model_validate(await self.post(path, body, budget_s))
        except ValidationError as exc:
            raise ModelServerError(f"malformed {path} answer: {exc}"[:500]) from exc

    async def aclose(self) -> None:
        for batcher in self._batchers.values():
            await batcher.aclose()
        await self.http.aclose()
