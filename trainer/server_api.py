"""The wire shapes of the inference servers' rollout and adapter routes: vLLM's and SGLang's.

`rollout.server_api` picks one `ServerApi`: its route names, the body of one rollout request (one prompt as
token ids, its G completions) and the reading of the answer into `Completion`s (token ids, the log-prob of
each sampled token, truncated or not). The server backend (`trainer.rollout_server`) does the rest the same
way for both.

- vllm: `POST /v1/completions` (`vllm/entrypoints/openai/protocol.py`, `CompletionRequest`) with `prompt` as
  token ids, `n`, `logprobs: 0`, `return_token_ids`, `return_tokens_as_token_ids`; the adapter is named by
  `model`; `/v1/load_lora_adapter`, `/v1/unload_lora_adapter`.
- sglang: `POST /generate` (`sglang/srt/managers/io_struct.py`, `GenerateReqInput`) with `input_ids`,
  `sampling_params` {n, max_new_tokens, temperature, top_p, stop}, `return_logprob: true`; the adapter is named
  by `lora_path`; each output's `output_ids` and `meta_info.output_token_logprobs` ([logprob, id, text]) and
  `meta_info.finish_reason.type`; `/load_lora_adapter`, `/unload_lora_adapter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rewards.serving.protocol import CompletionChoice, CompletionResponse, GenerateOutput


class ServerError(RuntimeError):
    """An inference server refused a request, or answered in a shape without the ids and log-probs."""


@dataclass(frozen=True)
class RolloutRequest:
    """One prompt's completions, as the trainer asks for them."""

    prompt_ids: list[int]
    n: int
    max_new_tokens: int
    temperature: float  # 0: greedy
    top_p: float
    stop: list[str]
    model: str  # the served base name, or the newest adapter's
    adapter: str | None  # the newest adapter's name under LoRA, else None
    seed: int | None = None  # the request's own sampling seed (rollout.seed_requests)


@dataclass(frozen=True)
class Completion:
    token_ids: list[int]
    logprobs: list[float]  # of each sampled token, under the distribution sampled from
    truncated: bool  # stopped by max_new_tokens


@dataclass(frozen=True)
class ServerApi:
    """One server family's routes, rollout request body and answer reader."""

    generate: str
    load_lora: str
    unload_lora: str
    body: Callable[[RolloutRequest], dict[str, Any]]
    read: Callable[[Any], list[Completion]]  # the answer's JSON -> its completions, in order


# ---- vLLM ---------------------------------------------------------------------------------------------------

def vllm_body(req: RolloutRequest) -> dict[str, Any]:
    return {"model": req.model, "prompt": req.prompt_ids, "n": req.n, "max_tokens": req.max_new_tokens,
            "temperature": req.temperature, "top_p": req.top_p, "stop": req.stop or None, "logprobs": 0,
            "return_token_ids": True, "return_tokens_as_token_ids": True,
            **({"seed": req.seed} if req.seed is not None else {})}


def choice_tokens(choice: CompletionChoice) -> tuple[list[int], list[float]]:
    """A choice's completion token ids and their log-probs: ids from `token_ids` (vLLM's `return_token_ids`),
    else from `logprobs.tokens` written as "token_id:<id>" (`return_tokens_as_token_ids`)."""
    if choice.logprobs is None:
        raise ServerError("a choice came back without logprobs: the server ignored `logprobs`")
    logprobs = choice.logprobs.token_logprobs
    ids = choice.token_ids
    if ids is None:
        if not all(t.startswith("token_id:") for t in choice.logprobs.tokens):
            raise ServerError("a choice came back without token ids (return_token_ids / return_tokens_as_token_ids)")
        ids = [int(t.removeprefix("token_id:")) for t in choice.logprobs.tokens]
    if len(ids) != len(logprobs) or any(lp is None for lp in logprobs):
        raise ServerError(f"a choice has {len(ids)} token ids but {len(logprobs)} log-probs")
    return ids, [float(lp) for lp in logprobs if lp is not None]


def vllm_read(answer: Any) -> list[Completion]:
    choices = sorted(CompletionResponse.model_validate(answer).choices, key=lambda c: c.index)
    return [Completion(*choice_tokens(c), truncated=c.finish_reason == "length") for c in choices]


# ---- SGLang -------------------------------------------------------------------------------------------------

def sglang_body(req: RolloutRequest) -> dict[str, Any]:
    sampling = {"n": req.n, "max_new_tokens": req.max_new_tokens, "temperature": req.temperature,
                "top_p": req.top_p, "stop": req.stop or None,
                **({"sampling_seed": req.seed} if req.seed is not None else {})}
    body: dict[str, Any] = {"input_ids": req.prompt_ids, "sampling_params": sampling, "return_logprob": True}
    if req.adapter is not None:
        body["lora_path"] = req.adapter
    return body


def output_tokens(output: GenerateOutput) -> Completion:
    """An output's ids (`output_ids`) and log-probs (`meta_info.output_token_logprobs`), which must agree."""
    meta = output.meta_info
    if meta.finish_reason is not None and meta.finish_reason.type == "abort":
        raise ServerError(f"the server aborted a completion: {meta.finish_reason.message}")
    if meta.output_token_logprobs is None:
        raise ServerError("an output came back without meta_info.output_token_logprobs: the server ignored "
                          "`return_logprob`")
    if [token for _, token, _ in meta.output_token_logprobs] != output.output_ids:
        raise ServerError(f"an output's {len(output.output_ids)} output_ids disagree with the ids of its "
                          f"{len(meta.output_token_logprobs)} output_token_logprobs")
    return Completion(list(output.output_ids), [lp for lp, _, _ in meta.output_token_logprobs],
                      truncated=meta.finish_reason is not None and meta.finish_reason.type == "length")


def sglang_read(answer: Any) -> list[Completion]:
    """One output dict (one prompt, n = 1) or a list of them (n > 1)."""
    outputs = answer if isinstance(answer, list) else [answer]
    return [output_tokens(GenerateOutput.model_validate(o)) for o in outputs]


API: dict[str, ServerApi] = {
    "vllm": ServerApi("/v1/completions", "/v1/load_lora_adapter", "/v1/unload_lora_adapter", vllm_body, vllm_read),
    "sglang": ServerApi("/generate", "/load_lora_adapter", "/unload_lora_adapter", sglang_body, sglang_read),
}
