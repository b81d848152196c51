"""The model server's scoring routes: `/predict` (TEI's shape) for reward models, `/pooling` (vLLM's) for PRMs,
`/v1/embeddings` (OpenAI's) for sentence embeddings.

Concurrent requests are gathered by a dynamic batcher into shared forward passes on the model thread;
inputs with different truncation limits go through the same batch in groups of one limit each.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Request

from rewards.models.batcher import DynamicBatcher
from rewards.models.forward import StepRead, embeddings, sequence_logits, step_rows
from rewards.models.loader import LoadedModel
from rewards.serving.protocol import (
    MAX_INPUTS,
    EmbeddingData,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    PoolingData,
    PoolingRequest,
    PoolingResponse,
    Prediction,
    PredictRequest,
)

Out = TypeVar("Out")
Item = tuple[str, int]  # a text and the most tokens kept of it


def by_limit(run: Callable[[list[str], int], Sequence[Out]]) -> Callable[[list[Item]], list[Out]]:
    """`run(texts, max_length)` over a batch of (text, max_length), once per distinct limit, results in order."""

    def batch(items: list[Item]) -> list[Out]:
        out: dict[int, Out] = {}
        for limit in {limit for _, limit in items}:
            indices = [i for i, (_, lim) in enumerate(items) if lim == limit]
            out.update(zip(indices, run([items[i][0] for i in indices], limit), strict=True))
        return [out[i] for i in range(len(items))]

    return batch


def last_token_id(lm: LoadedModel, text: str) -> int:
    """The id a text ends on: what a step tag (or a "+"/"-" label) is read at."""
    ids = lm.tokenizer.encode(text, add_special_tokens=False)
    if not ids:
        raise ValueError(f"{text!r} encodes to no token")
    return int(ids[-1])


class Scoring:
    """The batchers of one served model and the routes that feed them."""

    def __init__(self, lm: LoadedModel, name: str, executor: Executor, max_length: int, max_batch: int,
                 wait_ms: float, read: StepRead | None, embed: bool = False) -> None:
        """`embed`: a sentence encoder (`/v1/embeddings`); else `read` None: a reward model (`/predict`); else a PRM
        read so (`/pooling`)."""
        self.lm, self.name, self.max_length = lm, name, max_length
        self.predict: DynamicBatcher[Item, list[float]] | None = None
        self.pooling: DynamicBatcher[Item, list[list[float]]] | None = None
        self.embed: DynamicBatcher[Item, tuple[list[float], int]] | None = None
        if embed:
            self.embed = DynamicBatcher.on_thread(
                by_limit(lambda texts, limit: embeddings(lm, texts, limit)), executor, max_batch, wait_ms)
        elif read is None:
            self.predict = DynamicBatcher.on_thread(
                by_limit(lambda texts, limit: sequence_logits(lm, texts, limit)), executor, max_batch, wait_ms)
        else:
            self.pooling = DynamicBatcher.on_thread(
                by_limit(lambda texts, limit: step_rows(lm, texts, limit, read)), executor, max_batch, wait_ms)

    @property
    def batches(self) -> int:
        return sum(b.batches for b in (self.predict, self.pooling, self.embed) if b is not None)

    async def aclose(self) -> None:
        for batcher in (self.predict, self.pooling, self.embed):
            if batcher is not None:
                await batcher.aclose()

    def limit(self, wanted: int | None) -> int:
        return min(wanted or self.max_length, self.max_length)

    async def run(self, batcher: DynamicBatcher[Item, Out], texts: list[str], limit: int) -> list[Out]:
        if len(texts) > MAX_INPUTS:
            raise HTTPException(413, f"at most {MAX_INPUTS} inputs per request")
        try:
            return await batcher.submit([(text, limit) for text in texts])
        except Exception as exc:  # noqa: BLE001 - the forward pass failed: tell the client, keep serving
            raise HTTPException(500, f"forward pass failed: {type(exc).__name__}: {exc}"[:500]) from exc

    def predictions(self, logits: list[float], raw: bool) -> list[Prediction]:
        labels = getattr(self.lm.model.config, "id2label", None) or {}
        if not raw and len(logits) == 1:
            logits = [1 / (1 + math.exp(-max(-700.0, min(700.0, logits[0]))))]
        elif not raw:
            top = max(logits)
            exps = [math.exp(x - top) for x in logits]
            logits = [x / sum(exps) for x in exps]
        found = [Prediction(score=s, label=str(labels.get(i, f"LABEL_{i}"))) for i, s in enumerate(logits)]
        return sorted(found, key=lambda p: -p.score)


def _scoring_for(request: Request, model: str | None) -> Scoring:
    """The app's Scoring, when the request names no model or this server's."""
    scoring: Scoring = request.app.state.scoring
    if model not in (None, scoring.name):
        raise HTTPException(404, f"model {model!r} is not served here; this server has {scoring.name!r}")
    return scoring


def scoring_router() -> APIRouter:
    """`/predict`, `/pooling` and `/v1/embeddings` over the app's `state.scoring`."""
    router = APIRouter()

    @router.post("/predict")
    async def predict(body: PredictRequest, request: Request) -> list[Prediction] | list[list[Prediction]]:
        """Sequence-classifier scores, TEI's shape: a reward model's reward is its one score."""
        scoring: Scoring = request.app.state.scoring
        if scoring.predict is None:
            raise HTTPException(400, f"{scoring.name} is not served as a reward model (--head reward): /predict "
                                     "serves sequence classifiers")
        try:
            texts, batched = body.texts()
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        limit = scoring.limit(body.truncate_prompt_tokens)
        if not body.truncate:
            lengths = [len(scoring.lm.tokenizer.encode(t)) for t in texts]
            if max(lengths, default=0) > limit:
                raise HTTPException(413, f"an input has {max(lengths)} tokens, over {limit}; send truncate: true")
        rows = await scoring.run(scoring.predict, texts, limit)
        out = [scoring.predictions(row, body.raw_scores) for row in rows]
        return out if batched else out[0]

    @router.post("/pooling")
    async def pooling(body: PoolingRequest, request: Request) -> PoolingResponse:
        """A PRM's probability rows at each step tag, vLLM's STEP pooling shape."""
        scoring = _scoring_for(request, body.model)
        if scoring.pooling is None:
            raise HTTPException(400, f"{scoring.name} is served without a step tag: /pooling serves PRMs")
        rows = await scoring.run(scoring.pooling, body.texts(), scoring.limit(body.truncate_prompt_tokens))
        return PoolingResponse(id=f"pool-{uuid.uuid4().hex[:24]}", created=int(time.time()), model=scoring.name,
                               data=[PoolingData(index=i, data=r) for i, r in enumerate(rows)])

    @router.post("/v1/embeddings")
    async def embed(body: EmbeddingRequest, request: Request) -> EmbeddingResponse:
        """Unit-length sentence embeddings, OpenAI's shape: a dot product of two is their cosine similarity."""
        scoring = _scoring_for(request, body.model)
        if scoring.embed is None:
            raise HTTPException(400, f"{scoring.name} is not served as a sentence encoder (--head embed): "
                                     "/v1/embeddings serves embeddings")
        texts = body.texts()
        if not texts:
            raise HTTPException(422, "input is an empty list")
        rows = await scoring.run(scoring.embed, texts, scoring.limit(body.truncate_prompt_tokens))
        tokens = sum(count for _, count in rows)
        return EmbeddingResponse(model=scoring.name, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
                                 data=[EmbeddingData(index=i, embedding=vector) for i, (vector, _) in enumerate(rows)])

    return router
