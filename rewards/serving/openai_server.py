"""`rlvr serve-model`: a transformers model behind an HTTP API, for users without vLLM or TEI.

Routes: POST /v1/chat/completions and /v1/completions (OpenAI's shapes, causal LMs), POST /predict
(TEI's shape, reward models), POST /pooling (vLLM's STEP pooling, PRMs), POST /v1/embeddings (OpenAI's shape,
sentence encoders), GET /v1/models, GET /healthz.
Concurrent requests are batched dynamically into shared forward passes on one model thread; the
model is loaded before the server listens, so a model that cannot load stops the command at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from rewards.models.batcher import DynamicBatcher
from rewards.models.forward import DEFAULT_STEP_TAGS, Generation, GenerationRequest, StepRead, generate
from rewards.models.loader import Head, LoadedModel
from rewards.models.text import chat_prompt
from rewards.serving.scoring import Scoring, last_token_id, scoring_router


class ServeModelSettings(BaseModel):
    """What `rlvr serve-model` is told: the model, how it is read, and how requests are batched."""

    model: str
    name: str
    head: Head = "causal"
    batch_size: int = Field(default=8, ge=1)
    batch_wait_ms: float = Field(default=5.0, ge=0)
    max_new_tokens: int = Field(default=512, ge=1)
    max_length: int = Field(default=4096, ge=1, description="Most tokens kept per /predict, /pooling or "
                            "/v1/embeddings input.")
    step_tag: str | None = Field(default=None, description='/pooling: the tag after each step; default by head.')
    positive_token: str = "+"
    negative_token: str = "-"
    threads: int | None = None

    def step_read(self, lm: LoadedModel) -> StepRead | None:
        """Where /pooling reads step scores; None for a reward model or a sentence encoder, which have no steps."""
        if self.head in ("reward", "embed"):
            return None
        tag = last_token_id(lm, self.step_tag if self.step_tag is not None else DEFAULT_STEP_TAGS[self.head])
        if self.head != "causal":
            return StepRead(tag)
        return StepRead(tag, (last_token_id(lm, self.positive_token), last_token_id(lm, self.negative_token)))


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls ... are accepted and ignored

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str


class Sampling(BaseModel):
    model_config = ConfigDict(extra="allow")  # unsupported OpenAI fields (seed, logprobs, ...) are ignored

    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    n: int = Field(default=1, ge=1, le=16)
    stop: str | list[str] | None = None
    stream: Literal[False] = Field(default=False, description="Streaming is not supported.")


class ChatRequest(Sampling):
    messages: list[Message] = Field(min_length=1)


class CompletionRequest(Sampling):
    prompt: str


def _usage(gens: list[Generation]) -> dict[str, int]:
    prompt = gens[0].prompt_tokens if gens else 0
    completion = sum(g.completion_tokens for g in gens)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def create_model_app(settings: ServeModelSettings, lm: LoadedModel) -> FastAPI:
    """The app serving `lm` (loaded with `settings.head`)."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="model")
    generation: DynamicBatcher[GenerationRequest, Generation] = DynamicBatcher.on_thread(
        lambda reqs: generate(lm, reqs), executor, settings.batch_size, settings.batch_wait_ms)
    scoring = Scoring(lm, settings.name, executor, settings.max_length, settings.batch_size, settings.batch_wait_ms,
                      settings.step_read(lm), embed=settings.head == "embed")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await generation.aclose()
        await scoring.aclose()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="rlvr serve-model", lifespan=lifespan)
    app.state.scoring = scoring
    app.include_router(scoring_router())

    async def run(body: Sampling, prompt: str) -> list[Generation]:
        if body.model not in (None, settings.name):
            raise HTTPException(404, f"model {body.model!r} is not served here; this server has {settings.name!r}")
        wanted = body.max_completion_tokens or body.max_tokens or settings.max_new_tokens
        stops = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        req = GenerationRequest(prompt, min(wanted, settings.max_new_tokens), body.temperature, body.top_p, stops)
        if settings.head != "causal":
            raise HTTPException(400, f"{settings.name} is served as a {settings.head} model: generation needs a "
                                     "causal LM")
        try:
            return await generation.submit([req] * body.n)
        except Exception as exc:  # noqa: BLE001 - generation failed: tell the client, keep serving
            raise HTTPException(503, f"generation failed: {type(exc).__name__}: {exc}"[:500]) from exc

    def envelope(kind: str, choices: list[dict[str, Any]], gens: list[Generation]) -> dict[str, Any]:
        return {"id": f"{kind}-{uuid.uuid4().hex[:24]}", "object": kind, "created": int(time.time()),
                "model": settings.name, "choices": choices, "usage": _usage(gens)}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
        messages = [m.model_dump(include={"role", "content"}) for m in body.messages]
        try:
            prompt = chat_prompt(lm.tokenizer, messages)
        except Exception as exc:  # noqa: BLE001 - templates raise for conversations they do not support
            raise HTTPException(422, f"the chat template rejected these messages: {exc}"[:500]) from exc
        gens = await run(body, prompt)
        choices = [{"index": i, "message": {"role": "assistant", "content": g.text}, "finish_reason": g.finish_reason}
                   for i, g in enumerate(gens)]
        return envelope("chat.completion", choices, gens)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> dict[str, Any]:
        gens = await run(body, body.prompt)
        choices = [{"index": i, "text": g.text, "finish_reason": g.finish_reason, "logprobs": None}
                   for i, g in enumerate(gens)]
        return envelope("text_completion", choices, gens)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": settings.name, "object": "model", "owned_by": "rlvr"}]}

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness, and the forward passes run so far (batching shows as fewer passes than requests)."""
        passes = generation.batches + scoring.batches
        return {"status": "ok", "model": settings.name, "head": settings.head, "forward_passes": passes}

    return app
