"""`rlvr serve-model`: a transformers model behind an HTTP API, for users without vLLM or TEI.

Routes: POST /v1/chat/completions and /v1/completions (OpenAI's shapes, causal LMs; /v1/completions also
takes a prompt of token ids and answers with token ids and log-probs, as vLLM does), POST /generate (SGLang's
native shape on token ids, read as the same token-id request), POST /predict (TEI's shape, reward models), POST /pooling (vLLM's STEP pooling, PRMs), POST /v1/embeddings (OpenAI's shape, sentence
encoders), runtime LoRA adapters and weight reloads (`weights`), GET /v1/models, GET /healthz.
Concurrent requests are batched dynamically into shared forward passes on one model thread; the
model is loaded before the server listens, so a model that cannot load stops the command at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from rewards.models.adapters import Adapters, WeightUpdateError
from rewards.models.batcher import DynamicBatcher
from rewards.models.forward import DEFAULT_STEP_TAGS, Generation, GenerationRequest, StepRead, generate
from rewards.models.loader import Head, LoadedModel
from rewards.models.text import chat_prompt
from rewards.models.tokens import TokenGeneration, TokenRequest, generate_seeded, generate_tokens
from rewards.serving.protocol import GenerateRequest
from rewards.serving.scoring import Scoring, last_token_id, scoring_router
from rewards.serving.weights import ServedWeights, weights_router


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
    weight_updates: bool = Field(default=False, description="Serve the routes that load adapters and weights "
                                 "from disk (an RL trainer's weight sync).")

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
    model_config = ConfigDict(extra="allow")  # unsupported OpenAI fields (chat's seed, ...) are ignored

    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    n: int = Field(default=1, ge=1, le=64)
    stop: str | list[str] | None = None
    stream: Literal[False] = Field(default=False, description="Streaming is not supported.")

    def stops(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())


class ChatRequest(Sampling):
    messages: list[Message] = Field(min_length=1)


class CompletionRequest(Sampling):
    prompt: str | list[int] = Field(description="A text, or token ids (then token ids and log-probs come back).")
    logprobs: int | None = Field(default=None, ge=0, le=20, description="Log-probs of the sampled tokens, and of "
                                 "this many most likely ones per position (token-id prompts).")
    return_tokens_as_token_ids: bool = Field(default=False, description="vLLM's: logprobs.tokens as 'token_id:<id>'.")
    return_token_ids: bool = Field(default=False, description="vLLM's: each choice carries its `token_ids`.")
    stop_token_ids: list[int] = Field(default_factory=list, description="vLLM's: ids that end a completion too.")
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, strict=True, description="vLLM's: the request's "
                             "samples depend only on it, the prompt and the settings (token-id prompts).")


Item = TypeVar("Item")
Out = TypeVar("Out")


def per_adapter(adapters: Adapters, run: Callable[[Any, list[Item]], Sequence[Out]]
                ) -> Callable[[list[tuple[str | None, Item]]], list[Out | WeightUpdateError]]:
    """A batch of (adapter, item) run once per adapter with that adapter on; an adapter unloaded while its
    requests waited fails those requests only."""

    def batch(items: list[tuple[str | None, Item]]) -> list[Out | WeightUpdateError]:
        out: dict[int, Out | WeightUpdateError] = {}
        for name in dict.fromkeys(name for name, _ in items):
            indices = [i for i, (n, _) in enumerate(items) if n == name]
            try:
                with adapters.using(name) as model:
                    out.update(zip(indices, run(model, [items[i][1] for i in indices]), strict=True))
            except WeightUpdateError as exc:
                out.update((i, exc) for i in indices)
        return [out[i] for i in range(len(items))]

    return batch


def _token_choice(i: int, g: TokenGeneration, tokenizer: Any, body: CompletionRequest) -> dict[str, Any]:
    """One choice in vLLM's completion shape, with the ids and log-probs asked for."""
    def show(token: int) -> str:
        return f"token_id:{token}" if body.return_tokens_as_token_ids else str(tokenizer.decode([token]))

    choice: dict[str, Any] = {"index": i, "text": g.text, "finish_reason": g.finish_reason, "logprobs": None}
    if body.logprobs is not None:
        choice["logprobs"] = {
            "text_offset": [], "token_logprobs": g.logprobs, "tokens": [show(t) for t in g.token_ids],
            "top_logprobs": [{show(t): lp for t, lp in top.items()} for top in g.top] if body.logprobs else None}
    if body.return_token_ids:
        choice["token_ids"] = g.token_ids
    return choice


def _as_completion(body: GenerateRequest, prompt: list[int]) -> CompletionRequest:
    """SGLang's `/generate` for one prompt, read as the token-id completion request this server serves
    (`lora_path` names the adapter as `model` does)."""
    sp = body.sampling_params
    return CompletionRequest(model=body.lora_path, prompt=prompt, max_tokens=sp.max_new_tokens,
                             temperature=sp.temperature, top_p=sp.top_p, n=sp.n, stop=sp.stop,
                             stop_token_ids=sp.stop_token_ids or [], logprobs=body.top_logprobs_num,
                             seed=sp.sampling_seed)


def _generate_output(g: TokenGeneration, req: CompletionRequest, body: GenerateRequest, rid: str, tokenizer: Any
                     ) -> dict[str, Any]:
    """One completion in SGLang's output shape: `output_ids`, and in `meta_info` the finish reason and (with
    `return_logprob`) each token's `[logprob, token_id, text]`."""
    def entry(token: int, logprob: float) -> list[Any]:
        return [logprob, token, str(tokenizer.decode([token])) if body.return_text_in_logprobs else None]

    ends = {tokenizer.eos_token_id, *req.stop_token_ids}
    if g.finish_reason == "length":
        finish: dict[str, Any] = {"type": "length", "length": len(g.token_ids)}
    elif g.token_ids and g.token_ids[-1] in ends:
        finish = {"type": "stop", "matched": g.token_ids[-1]}
    else:  # a stop string (the first in the text), or the end of the model's own sequence
        text = tokenizer.decode(g.token_ids, skip_special_tokens=True)
        finish = {"type": "stop", "matched": min((s for s in req.stops() if s and s in text), key=text.index,
                                                 default=None)}
    meta: dict[str, Any] = {"id": rid, "finish_reason": finish, "prompt_tokens": g.prompt_tokens,
                            "completion_tokens": len(g.token_ids), "cached_tokens": 0}
    if body.return_logprob:
        meta["output_token_logprobs"] = [entry(t, lp) for t, lp in zip(g.token_ids, g.logprobs, strict=True)]
        if body.top_logprobs_num:
            meta["output_top_logprobs"] = [[entry(t, lp) for t, lp in top.items()] for top in g.top]
    return {"text": g.text, "output_ids": g.token_ids, "meta_info": meta}


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def create_model_app(settings: ServeModelSettings, lm: LoadedModel) -> FastAPI:
    """The app serving `lm` (loaded with `settings.head`)."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="model")
    adapters = Adapters(lm, settings.name)
    generation: DynamicBatcher[tuple[str | None, GenerationRequest], Generation | WeightUpdateError] = \
        DynamicBatcher.on_thread(per_adapter(adapters, lambda model, reqs: generate(replace(lm, model=model), reqs)),
                                 executor, settings.batch_size, settings.batch_wait_ms)
    on_tokens: DynamicBatcher[tuple[str | None, TokenRequest], TokenGeneration | WeightUpdateError] = \
        DynamicBatcher.on_thread(per_adapter(adapters, lambda model, reqs: generate_tokens(model, lm.tokenizer, reqs)),
                                 executor, settings.batch_size, settings.batch_wait_ms)
    seeded: DynamicBatcher[tuple[str | None, tuple[TokenRequest, int]], list[TokenGeneration] | WeightUpdateError] = \
        DynamicBatcher.on_thread(per_adapter(adapters, lambda model, reqs: generate_seeded(model, lm.tokenizer, reqs)),
                                 executor, settings.batch_size, settings.batch_wait_ms)
    scoring = Scoring(lm, settings.name, executor, settings.max_length, settings.batch_size, settings.batch_wait_ms,
                      settings.step_read(lm), embed=settings.head == "embed")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await generation.aclose()
        await on_tokens.aclose()
        await seeded.aclose()
        await scoring.aclose()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="rlvr serve-model", lifespan=lifespan)
    app.state.scoring = scoring
    app.state.weights = ServedWeights(adapters, executor, settings.weight_updates, settings.head == "causal")
    app.include_router(scoring_router())
    app.include_router(weights_router())

    def adapter(body: Sampling) -> str | None:
        """The adapter a request names (None: the base model); 404 for a name not served here."""
        if body.model in (None, settings.name):
            return None
        if body.model not in adapters.paths:
            raise HTTPException(404, f"{body.model!r} is not served here: this server has {settings.name!r}"
                                     + (f" and the adapters {sorted(adapters.paths)}" if adapters.paths else ""))
        return body.model

    def max_tokens(body: Sampling) -> int:
        if settings.head != "causal":
            raise HTTPException(400, f"{settings.name} is served as a {settings.head} model: generation needs a "
                                     "causal LM")
        return min(body.max_completion_tokens or body.max_tokens or settings.max_new_tokens, settings.max_new_tokens)

    async def submit(batcher: DynamicBatcher[tuple[str | None, Item], Out | WeightUpdateError], name: str | None,
                     req: Item, n: int) -> list[Out]:
        try:
            results = await batcher.submit([(name, req)] * n)
        except Exception as exc:  # noqa: BLE001 - generation failed: tell the client, keep serving
            raise HTTPException(503, f"generation failed: {type(exc).__name__}: {exc}"[:500]) from exc
        for result in results:
            if isinstance(result, WeightUpdateError):
                raise HTTPException(result.status, str(result))
        return [r for r in results if not isinstance(r, WeightUpdateError)]

    async def run(body: Sampling, prompt: str) -> list[Generation]:
        name, wanted = adapter(body), max_tokens(body)
        return await submit(generation, name,
                            GenerationRequest(prompt, wanted, body.temperature, body.top_p, body.stops()), body.n)

    def token_request(body: CompletionRequest, prompt: list[int]) -> TokenRequest:
        """A token-id prompt checked against the vocabulary and the context length (400 with the reason)."""
        vocab, limit = len(lm.tokenizer), getattr(lm.model.config, "max_position_embeddings", None) or 4096
        if not prompt:
            raise HTTPException(400, "the prompt holds no token ids")
        bad = [t for t in [*prompt, *body.stop_token_ids] if not 0 <= t < vocab]
        if bad:
            raise HTTPException(400, f"token id {bad[0]} is outside the vocabulary (0..{vocab - 1})")
        wanted = max_tokens(body)
        if len(prompt) + wanted > limit:
            raise HTTPException(400, f"{len(prompt)} prompt tokens + max_tokens {wanted} exceed the model's context "
                                     f"of {limit} tokens")
        return TokenRequest(tuple(prompt), wanted, body.temperature, body.top_p, body.stops(),
                            tuple(body.stop_token_ids), body.logprobs or 0, body.seed)

    def envelope(kind: str, choices: list[dict[str, Any]], usage: dict[str, int], model: str | None = None
                 ) -> dict[str, Any]:
        return {"id": f"{kind}-{uuid.uuid4().hex[:24]}", "object": kind, "created": int(time.time()),
                "model": model or settings.name, "choices": choices, "usage": usage}

    def text_usage(gens: list[Generation]) -> dict[str, int]:
        return _usage(gens[0].prompt_tokens if gens else 0, sum(g.completion_tokens for g in gens))

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
        return envelope("chat.completion", choices, text_usage(gens))

    async def sample(name: str | None, req: TokenRequest, n: int) -> list[TokenGeneration]:
        """`n` completions of one token-id prompt; a seeded request's n samples are one item, its rows sharing a
        generator of their own (generate_seeded)."""
        if req.seed is not None:
            return (await submit(seeded, name, (req, n), 1))[0]
        return await submit(on_tokens, name, req, n)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> dict[str, Any]:
        if isinstance(body.prompt, str):
            if body.seed is not None:
                raise HTTPException(400, "seed is honoured for prompts of token ids only")
            gens = await run(body, body.prompt)
            choices = [{"index": i, "text": g.text, "finish_reason": g.finish_reason, "logprobs": None}
                       for i, g in enumerate(gens)]
            return envelope("text_completion", choices, text_usage(gens))
        name, req = adapter(body), token_request(body, body.prompt)
        outs = await sample(name, req, body.n)
        return envelope("text_completion", [_token_choice(i, g, lm.tokenizer, body) for i, g in enumerate(outs)],
                        _usage(len(body.prompt), sum(len(g.token_ids) for g in outs)), body.model)

    @app.post("/generate")
    async def sglang_generate(body: GenerateRequest) -> dict[str, Any] | list[dict[str, Any]]:
        """SGLang's `/generate` on token ids: one output dict for one prompt and n = 1, else a list, prompt by
        prompt with each prompt's n outputs together (as SGLang orders them)."""
        try:
            prompts, batch = body.prompts()
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        reads = [_as_completion(body, prompt) for prompt in prompts]
        name, reqs = adapter(reads[0]), [token_request(r, prompt) for r, prompt in zip(reads, prompts, strict=True)]
        outs = await asyncio.gather(*(sample(name, req, r.n) for req, r in zip(reqs, reads, strict=True)))
        rid = body.rid or uuid.uuid4().hex
        items = [_generate_output(g, r, body, f"{rid}_{i * r.n + j}", lm.tokenizer)
                 for i, (gens, r) in enumerate(zip(outs, reads, strict=True)) for j, g in enumerate(gens)]
        if not batch and len(items) == 1:
            items[0]["meta_info"]["id"] = rid
            return items[0]
        return items

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        lora = [{"id": name, "object": "model", "owned_by": "rlvr", "root": path, "parent": settings.name}
                for name, path in adapters.paths.items()]
        return {"object": "list", "data": [{"id": settings.name, "object": "model", "owned_by": "rlvr"}, *lora]}

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness, and the forward passes run so far (batching shows as fewer passes than requests)."""
        passes = generation.batches + on_tokens.batches + seeded.batches + scoring.batches
        return {"status": "ok", "model": settings.name, "head": settings.head, "forward_passes": passes,
                "adapters": sorted(adapters.paths), "adapters_loaded_total": adapters.loaded_total,
                "weight_reloads": adapters.reloads}

    return app
