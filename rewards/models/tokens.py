"""Generation on token ids, with the log-prob of every sampled token: what an RL trainer's rollouts need.

A trainer sends its prompts as token ids and reads the completion's ids and log-probs back, so nothing is
re-tokenized on either side. The log-probs are those of the distribution sampled from, at the request's
temperature (vLLM's `--logprobs-mode processed_logprobs`), before top-p: the same numbers the trainer computes
with `log_softmax(logits / T)`, so the two differ only by kernel and batching noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from rewards.models.forward import cut_at_stops


@dataclass(frozen=True)
class TokenRequest:
    """One prompt as token ids and how to continue it."""

    prompt_ids: tuple[int, ...]
    max_new_tokens: int
    temperature: float = 1.0  # 0: greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    top_logprobs: int = 0  # also return this many most likely tokens per position
    seed: int | None = None  # vLLM's per-request seed: such a request is run by `generate_seeded`


@dataclass(frozen=True)
class TokenGeneration:
    token_ids: list[int]
    text: str  # the tokens decoded, cut at the first stop string
    logprobs: list[float]  # of each sampled token
    top: list[dict[int, float]]  # per position, the `top_logprobs` most likely tokens (empty dicts if none asked)
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int


def _ended(row: list[int], ends: set[int], pad: int | None) -> list[int]:
    """A generated row up to and including its first end token; padding after a stop string is dropped."""
    out: list[int] = []
    for token in row:
        if token == pad and pad not in ends:  # the pad token is suppressed while sampling: this is padding
            break
        out.append(token)
        if token in ends:
            break
    return out


def generate_tokens(model: Any, tokenizer: Any, requests: list[TokenRequest]) -> list[TokenGeneration]:
    """Continue each prompt with `model` (the base, or the base with one adapter on); requests with the same
    settings share one `generate` call."""
    import torch

    if any(r.seed is not None for r in requests):
        raise ValueError("a seeded request is generated alone: generate_seeded")
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault((r.max_new_tokens, r.temperature, r.top_p, r.stop, r.stop_token_ids, r.top_logprobs),
                          []).append(i)
    out: list[TokenGeneration | None] = [None] * len(requests)
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    device = next(model.parameters()).device
    for (max_new, temperature, top_p, stop, stop_ids, top_k), indices in groups.items():
        prompts = [requests[i].prompt_ids for i in indices]
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        ends = {eos, *stop_ids}
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0} if temperature > 0 \
            else {"do_sample": False}
        with torch.inference_mode():
            result = model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=max_new, pad_token_id=pad,
                eos_token_id=sorted(ends), stop_strings=list(stop) or None, tokenizer=tokenizer if stop else None,
                suppress_tokens=[pad] if pad not in ends else None,
                return_dict_in_generate=True, output_logits=True, **sampling)
        new = result.sequences[:, width:]
        logps = torch.log_softmax(torch.stack(result.logits, 1).float() / (temperature or 1.0), -1)
        sampled = logps.gather(-1, new.unsqueeze(-1)).squeeze(-1)
        best = logps.topk(top_k, -1) if top_k else None
        for row, i in enumerate(indices):
            tokens = _ended(new[row].tolist(), ends, pad)
            n = len(tokens)
            top = [{} for _ in range(n)] if best is None else [
                dict(zip(best.indices[row, t].tolist(), best.values[row, t].tolist(), strict=True)) for t in range(n)]
            text, cut = cut_at_stops(tokenizer.decode(tokens, skip_special_tokens=True), stop)
            stopped = (n > 0 and tokens[-1] in ends) or n < max_new or cut
            out[i] = TokenGeneration(tokens, text, sampled[row, :n].tolist(), top, "stop" if stopped else "length",
                                     len(prompts[row]))
    return [g for g in out if g is not None]


def generate_seeded(model: Any, tokenizer: Any, request: TokenRequest, n: int) -> list[TokenGeneration]:
    """`n` samples of one seeded request (vLLM's `seed`), in a `generate` call of their own with torch's RNG
    seeded by it: they depend only on the request, not on what else the server is serving or has served. The
    RNG's state outside is restored afterwards, so unseeded requests keep their own stream."""
    import torch

    if request.seed is None:
        raise ValueError("generate_seeded needs a request with a seed")
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(request.seed)
        return generate_tokens(model, tokenizer, [replace(request, seed=None)] * n)
