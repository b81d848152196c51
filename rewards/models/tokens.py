"""Generation on token ids, with the log-prob of every sampled token: what an RL trainer's rollouts need.

A trainer sends its prompts as token ids and reads the completion's ids and log-probs back, so nothing is
re-tokenized on either side. The log-probs are those of the distribution sampled from, at the request's
temperature (vLLM's `--logprobs-mode processed_logprobs`), before top-p: the same numbers the trainer computes
with `log_softmax(logits / T)`, so the two differ only by kernel and batching noise.

A request with vLLM's `seed` is sampled with a `torch.Generator` of its own (`generate_seeded`), in a `generate`
call shared only with seeded requests whose prompts have the same length (no padding): its samples then
depend on its seed, prompt and settings alone, not on what the server batches it with.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
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
    seed: int | None = None  # vLLM's per-request seed: such requests go to `generate_seeded`


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


def _settings(r: TokenRequest) -> tuple[Any, ...]:
    return r.max_new_tokens, r.temperature, r.top_p, r.stop, r.stop_token_ids, r.top_logprobs


def _seeded_sampler(generators: list[Any], rows: list[int], temperature: float, top_p: float) -> Any:
    """A logits processor that samples each request's rows with its own generator (after temperature and
    top-p) and leaves only the sampled token, which greedy decoding then takes."""
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList, TopPLogitsWarper

    top = TopPLogitsWarper(top_p) if top_p < 1 else None
    bounds = [0, *itertools.accumulate(rows)]

    class SeededSampler(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            scores = scores / temperature
            probs = torch.softmax(top(input_ids, scores) if top else scores, -1)
            picks = torch.cat([torch.multinomial(probs[a:b], 1, generator=g)
                               for g, a, b in zip(generators, bounds[:-1], bounds[1:], strict=True)])
            return torch.full_like(scores, -torch.inf).scatter_(1, picks, 0.0)

    return LogitsProcessorList([SeededSampler()])


def _generate(model: Any, tokenizer: Any, prompts: list[tuple[int, ...]], settings: tuple[Any, ...],
              sampler: Any = None) -> list[TokenGeneration]:
    """One `generate` call on left-padded `prompts`; `sampler`: a logits processor that does the sampling
    (then decoding is greedy), else `temperature > 0` samples from torch's global RNG."""
    import torch

    max_new, temperature, top_p, stop, stop_ids, top_k = settings
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    device = next(model.parameters()).device
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    ends = {eos, *stop_ids}
    sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0} \
        if temperature > 0 and sampler is None else {"do_sample": False}
    with torch.inference_mode():
        result = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=max_new, pad_token_id=pad,
            eos_token_id=sorted(ends), stop_strings=list(stop) or None, tokenizer=tokenizer if stop else None,
            suppress_tokens=[pad] if pad not in ends else None, logits_processor=sampler,
            return_dict_in_generate=True, output_logits=True, **sampling)
    new = result.sequences[:, width:]
    logps = torch.log_softmax(torch.stack(result.logits, 1).float() / (temperature or 1.0), -1)
    sampled = logps.gather(-1, new.unsqueeze(-1)).squeeze(-1)
    best = logps.topk(top_k, -1) if top_k else None
    out = []
    for row, prompt in enumerate(prompts):
        tokens = _ended(new[row].tolist(), ends, pad)
        n = len(tokens)
        top = [{} for _ in range(n)] if best is None else [
            dict(zip(best.indices[row, t].tolist(), best.values[row, t].tolist(), strict=True)) for t in range(n)]
        text, cut = cut_at_stops(tokenizer.decode(tokens, skip_special_tokens=True), stop)
        stopped = (n > 0 and tokens[-1] in ends) or n < max_new or cut
        out.append(TokenGeneration(tokens, text, sampled[row, :n].tolist(), top, "stop" if stopped else "length",
                                   len(prompt)))
    return out


def generate_tokens(model: Any, tokenizer: Any, requests: list[TokenRequest]) -> list[TokenGeneration]:
    """Continue each prompt with `model` (the base, or the base with one adapter on); requests with the same
    settings share one `generate` call."""
    if any(r.seed is not None for r in requests):
        raise ValueError("seeded requests are generated by generate_seeded")
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(_settings(r), []).append(i)
    out: dict[int, TokenGeneration] = {}
    for settings, indices in groups.items():
        out.update(zip(indices, _generate(model, tokenizer, [requests[i].prompt_ids for i in indices], settings),
                       strict=True))
    return [out[i] for i in range(len(requests))]


def generate_seeded(model: Any, tokenizer: Any, requests: list[tuple[TokenRequest, int]]
                    ) -> list[list[TokenGeneration]]:
    """`n` samples of each seeded request (vLLM's `seed`): requests with the same settings and prompt length
    share a `generate` call, each sampled by a `torch.Generator` seeded with its seed (its n rows from one
    stream, so they differ); torch's global RNG is not touched."""
    import torch

    if any(r.seed is None for r, _ in requests):
        raise ValueError("generate_seeded needs requests with a seed")
    device = next(model.parameters()).device
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (r, _) in enumerate(requests):
        groups.setdefault((*_settings(r), len(r.prompt_ids)), []).append(i)
    out: dict[int, list[TokenGeneration]] = {}
    for key, indices in groups.items():
        settings, rows = key[:-1], [requests[i][1] for i in indices]
        generators = [torch.Generator(device).manual_seed(requests[i][0].seed or 0) for i in indices]
        sampler = _seeded_sampler(generators, rows, settings[1], settings[2]) if settings[1] > 0 else None
        prompts = [requests[i][0].prompt_ids for i in indices for _ in range(requests[i][1])]
        gens, bounds = _generate(model, tokenizer, prompts, settings, sampler), [0, *itertools.accumulate(rows)]
        out.update((i, gens[a:b]) for i, a, b in zip(indices, bounds[:-1], bounds[1:], strict=True))
    return [out[i] for i in range(len(requests))]
