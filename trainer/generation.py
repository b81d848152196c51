"""Rollouts: G sampled completions per prompt with the behaviour log-probs, behind a backend interface.

A backend takes prompt texts and returns token tensors; the transformers backend below runs
`generate` on the policy itself. The server backend (`trainer.rollout_server`: vLLM, SGLang or
`rlvr serve-model` over HTTP) implements the same methods: `generate`, and `sync` to load the
trainer's weights after an update.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

import torch

from trainer.config import RolloutConfig
from trainer.prefix import cache_arguments, repeated_prompt_cache


@dataclass
class Rollouts:
    """A batch of completions, `group_size` consecutive rows per prompt."""

    prompt_ids: torch.Tensor  # [B, P] left-padded
    prompt_mask: torch.Tensor  # [B, P]
    completion_ids: torch.Tensor  # [B, C] right-padded
    completion_mask: torch.Tensor  # [B, C] 1 on generated tokens up to and including the stop
    behaviour_logprobs: torch.Tensor  # [B, C] log-probs under the policy that sampled them
    truncated: torch.Tensor  # [B] bool: hit max_new_tokens without stopping
    texts: list[str]  # completions as text, cut at the first stop string
    policy_version: int = 0  # the optimizer step that generated them

    def to(self, device: torch.device) -> Rollouts:
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in moved.items():
            if isinstance(value, torch.Tensor):
                moved[name] = value.to(device)
        return Rollouts(**moved)

    def __len__(self) -> int:
        return len(self.texts)


class GenerationBackend(Protocol):
    """What the trainer needs from a sampler."""

    def generate(self, prompts: list[str], group_size: int, greedy: bool = False) -> Rollouts: ...

    def sync(self, policy: torch.nn.Module, version: int) -> None:
        """Take the policy's weights after `version` updates (a no-op when sampling from the policy itself)."""

    def close(self) -> None:
        """Let go of connections and threads."""


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """The text before the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def decode_completions(tokenizer: Any, completion_ids: torch.Tensor, mask: torch.Tensor, stops: list[str]
                       ) -> tuple[list[str], list[bool]]:
    """Each completion's text (its masked tokens, cut at the first stop string) and whether a stop string cut it."""
    texts, stopped = [], []
    for row, row_mask in zip(completion_ids, mask, strict=True):
        text, found = cut_at_stop(tokenizer.decode(row[row_mask.bool()], skip_special_tokens=True), stops)
        texts.append(text)
        stopped.append(found)
    return texts, stopped


class TransformersBackend:
    """Sampling with `model.generate` on the training policy."""

    def __init__(self, model: torch.nn.Module, tokenizer: Any, cfg: RolloutConfig, max_prompt_tokens: int = 1024
                 ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.max_prompt_tokens = max_prompt_tokens

    def sync(self, policy: torch.nn.Module, version: int) -> None:
        self.model = policy

    def close(self) -> None:
        pass

    @torch.no_grad()
    def generate(self, prompts: list[str], group_size: int, greedy: bool = False) -> Rollouts:
        tok, cfg = self.tokenizer, self.cfg
        device = next(self.model.parameters()).device
        enc = tok(prompts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_prompt_tokens,
                  add_special_tokens=False).to(device)
        sampling = {} if greedy else {"temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": 0}
        was_training = self.model.training
        self.model.eval()
        policy: Any = self.model  # a transformers (or peft) model: `generate` is not on nn.Module
        ids, attention = enc["input_ids"], enc["attention_mask"]
        prefilled = {}
        if group_size > 1 and ids.shape[1] > 1:  # each prompt but its last token run once, its cache repeated
            cache, _ = repeated_prompt_cache(policy, ids[:, :-1], attention[:, :-1], group_size)
            prefilled = {cache_arguments()[0]: cache}
        out = policy.generate(
            input_ids=ids.repeat_interleave(group_size, 0), attention_mask=attention.repeat_interleave(group_size, 0),
            **prefilled, do_sample=not greedy, max_new_tokens=cfg.max_new_tokens,
            stop_strings=cfg.stop or None, tokenizer=tok if cfg.stop else None,
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
            suppress_tokens=[tok.pad_token_id] if tok.pad_token_id != tok.eos_token_id else None,
            return_dict_in_generate=True, output_logits=True, **sampling,
        )
        self.model.train(was_training)
        prompt_len = enc["input_ids"].shape[1]
        completion_ids = out.sequences[:, prompt_len:]
        logits = torch.stack(out.logits, dim=1).float() / (1.0 if greedy else cfg.temperature)
        behaviour = torch.log_softmax(logits, -1).gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)
        mask, texts, truncated = self._finish(completion_ids)
        return Rollouts(
            prompt_ids=ids.repeat_interleave(group_size, 0), prompt_mask=attention.repeat_interleave(group_size, 0),
            completion_ids=completion_ids, completion_mask=mask, behaviour_logprobs=behaviour * mask,
            truncated=truncated, texts=texts,
        )

    def _finish(self, completion_ids: torch.Tensor) -> tuple[torch.Tensor, list[str], torch.Tensor]:
        """Mask past the end of each completion; decode and cut texts at stop strings."""
        tok = self.tokenizer
        is_eos = completion_ids == tok.eos_token_id
        # tokens after the first eos (or after a stop string, where generate pads) are not the model's
        ended_before = torch.cumsum(is_eos.int(), 1) - is_eos.int() > 0
        mask = (~ended_before & (completion_ids != tok.pad_token_id)).long()
        if tok.pad_token_id == tok.eos_token_id:
            mask = (~ended_before).long()
        texts, stopped = decode_completions(tok, completion_ids, mask, self.cfg.stop)
        truncated = [not (bool(eos) or cut) for eos, cut in zip(is_eos.any(1), stopped, strict=True)]
        return mask, texts, torch.tensor(truncated, device=completion_ids.device)
