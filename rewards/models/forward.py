"""The blocking forward passes of the model server: a scalar per sequence, probabilities per step tag, a sentence
embedding, generation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rewards.models.loader import LoadedModel
from rewards.models.text import encode


def sequence_logits(lm: LoadedModel, texts: list[str], max_length: int) -> list[list[float]]:
    """A sequence classifier's logits per text: one, the reward, for a Bradley-Terry reward model.

    Inputs keep their end, where the reward is read."""
    import torch

    lm.tokenizer.truncation_side = "left"
    batch = encode(lm.tokenizer, texts, max_length).to(lm.device)
    with torch.inference_mode():
        logits = lm.model(**batch).logits
    rows: list[list[float]] = logits.float().tolist()
    return rows


def embeddings(lm: LoadedModel, texts: list[str], max_length: int) -> list[tuple[list[float], int]]:
    """Per text, its sentence embedding and the tokens read: the last hidden states mean-pooled over the text's
    tokens and scaled to unit length (sentence-transformers' recipe for all-MiniLM-L6-v2 and its kin), so a dot
    product is a cosine similarity. Inputs keep their start."""
    import torch

    lm.tokenizer.truncation_side = "right"
    positions = getattr(lm.model.config, "max_position_embeddings", None) or max_length  # a BERT reads 512 at most
    batch = encode(lm.tokenizer, texts, min(max_length, positions)).to(lm.device)
    with torch.inference_mode():
        hidden = lm.model(**batch)[0].float()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0), dim=-1)
    return list(zip(pooled.tolist(), batch["attention_mask"].sum(1).tolist(), strict=True))


DEFAULT_STEP_TAGS = {"token": "<extra_0>", "remote": "<extra_0>", "causal": " ки"}


@dataclass(frozen=True)
class StepRead:
    """Where and how a PRM's step probabilities are read (vLLM's STEP pooling: a tag token, returned tokens)."""

    tag_id: int
    token_ids: tuple[int, ...] = ()  # causal PRMs: the tokens compared at the tag ("+", "-"); classifiers: none


def step_rows(lm: LoadedModel, texts: list[str], max_length: int, read: StepRead) -> list[list[list[float]]]:
    """For each text, one probability row per occurrence of the tag token, in order; truncated tags are absent.

    A token classifier's row is the softmax over its classes; a causal LM's is the softmax over
    `read.token_ids` (p("+"), p("-") for Math-Shepherd). Inputs keep their start: the first steps.
    """
    import torch

    lm.tokenizer.truncation_side = "right"
    batch = encode(lm.tokenizer, texts, max_length).to(lm.device)
    with torch.inference_mode():
        logits = lm.model(**batch)[0].float()  # [0]: also for custom PRM heads returning tuples
    at_tag = batch["input_ids"] == read.tag_id
    out = []
    for row in range(logits.shape[0]):
        rows = logits[row][at_tag[row]]
        if read.token_ids:
            rows = rows[:, list(read.token_ids)]
        out.append(rows.softmax(-1).tolist())
    return out


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt (already rendered) and how to continue it."""

    prompt: str
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]


def cut_at_stops(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """The text before the first stop string, and whether one was found."""
    cuts = [text.index(s) for s in stops if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def generate(lm: LoadedModel, requests: list[GenerationRequest]) -> list[Generation]:
    """Continue each prompt; requests with the same sampling settings share one `generate` call."""
    import torch

    groups: dict[tuple[int, float, float], list[int]] = {}
    for i, req in enumerate(requests):
        groups.setdefault((req.max_new_tokens, req.temperature, req.top_p), []).append(i)
    out: list[Generation | None] = [None] * len(requests)
    tok = lm.tokenizer
    limit = getattr(lm.model.config, "max_position_embeddings", None) or 4096
    for (max_new, temperature, top_p), indices in groups.items():
        max_new = max(1, min(max_new, limit - 1))
        batch = tok([requests[i].prompt for i in indices], padding=True, truncation=True,
                    max_length=limit - max_new, return_tensors="pt", add_special_tokens=False).to(lm.device)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {
            "do_sample": False}
        with torch.inference_mode():
            ids = lm.model.generate(**batch, max_new_tokens=max_new, pad_token_id=tok.pad_token_id, **sampling)
        new = ids[:, batch["input_ids"].shape[1] :]
        for row, i in enumerate(indices):
            tokens = [t for t in new[row].tolist() if t != tok.pad_token_id]
            ended = bool(tokens) and tokens[-1] == tok.eos_token_id
            text, stopped = cut_at_stops(tok.decode(tokens, skip_special_tokens=True), requests[i].stop)
            finish: Literal["stop", "length"] = "stop" if stopped or ended or len(tokens) < max_new else "length"
            out[i] = Generation(text, int(batch["attention_mask"][row].sum()), len(tokens), finish)
    return [g for g in out if g is not None]
