"""`rlvr serve-model`: a transformers causal LM behind an OpenAI-compatible API, for users without vLLM.

Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /healthz. Concurrent
requests are batched dynamically into shared `generate` calls on one model thread.
"""

from __future__ import annotations

import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from rewards.models.batcher import DynamicBatcher
from rewards.models.forward import Generation, GenerationRequest, generate
from rewards.models.loader import load_sync, model_executor
from rewards.models.text import chat_prompt


class ServeModelSettings(BaseModel):
    model: str
    name: str
    batch_size: int = Field(default=8, ge=1)
    batch_wait_ms: float = Field(default=5.0, ge=0)
    max_new_tokens: int = Field(default=512, ge=1)
    threads: int | None = None


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


def create_model_app(settings: ServeModelSettings) -> FastAPI:
    resources: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        import asyncio

        executor = model_executor(resources)
        lm = await asyncio.get_running_loop().run_in_executor(
            executor, load_sync, settings.model, "causal", settings.threads
        )
        app.state.lm = lm
        app.state.batcher = DynamicBatcher(lambda reqs: generate(lm, reqs), executor, settings.batch_size,
                                           settings.batch_wait_ms)
        yield
        await app.state.batcher.aclose()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="rlvr serve-model", lifespan=lifespan)

    async def run(request: Request, body: Sampling, prompt: str) -> list[Generation]:
        if body.model not in (None, settings.name):
            raise HTTPException(404, f"model {body.model!r} is not served here; this server has {settings.name!r}")
        wanted = body.max_completion_tokens or body.max_tokens or settings.max_new_tokens
        stops = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        req = GenerationRequest(prompt, min(wanted, settings.max_new_tokens), body.temperature, body.top_p, stops)
        try:
            return await request.app.state.batcher.submit([req] * body.n)
        except Exception as exc:  # noqa: BLE001 - generation failed: tell the client, keep serving
            raise HTTPException(503, f"generation failed: {type(exc).__name__}: {exc}"[:500]) from exc

    def envelope(kind: str, choices: list[dict], gens: list[Generation]) -> dict[str, Any]:
        return {"id": f"{kind}-{uuid.uuid4().hex[:24]}", "object": kind, "created": int(time.time()),
                "model": settings.name, "choices": choices, "usage": _usage(gens)}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
        messages = [m.model_dump(include={"role", "content"}) for m in body.messages]
        try:
            prompt = chat_prompt(request.app.state.lm.tokenizer, messages)
        except Exception as exc:  # noqa: BLE001 - templates raise for conversations they do not support
            raise HTTPException(422, f"the chat template rejected these messages: {exc}"[:500]) from exc
        gens = await run(request, body, prompt)
        choices = [{"index": i, "message": {"role": "assistant", "content": g.text}, "finish_reason": g.finish_reason}
                   for i, g in enumerate(gens)]
        return envelope("chat.completion", choices, gens)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> dict[str, Any]:
        gens = await run(request, body, body.prompt)
        choices = [{"index": i, "text": g.text, "finish_reason": g.finish_reason, "logprobs": None}
                   for i, g in enumerate(gens)]
        return envelope("text_completion", choices, gens)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": settings.name, "object": "model", "owned_by": "rlvr"}]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "model": settings.name}

    return app
