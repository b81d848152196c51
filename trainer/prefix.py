"""Prompts run once per group: the keys and values of each prompt, computed for one copy and repeated G times.

GRPO samples G completions of every prompt. Causal attention makes the prompt's states independent of what
follows, so running the prompt once and repeating its cache gives the same numbers as running it G times, and
gradients flowing into the shared prompt add up as they would over G copies.
"""

from __future__ import annotations

import functools
from typing import Any

import torch


@functools.cache
def cache_arguments() -> tuple[str, dict[str, int]]:
    """The KV cache's argument name (transformers 5 renamed `past_key_values` to `cache`), and the argument that
    keeps only the last position's logits (`logits_to_keep`, transformers 4.50+)."""
    import transformers
    from packaging.version import Version
    from transformers.modeling_outputs import CausalLMOutputWithPast

    name = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"
    return name, {"logits_to_keep": 1} if Version(transformers.__version__) >= Version("4.50") else {}


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids of left-padded rows, numbered as `generate` numbers them."""
    return (mask.cumsum(1) - 1).clamp(min=0)


def repeated_prompt_cache(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, repeats: int
                          ) -> tuple[Any, torch.Tensor]:
    """Run each (distinct, left-padded) prompt once; its cache repeated `repeats` times, row by row, and the logits of
    its last position likewise repeated [rows * repeats, 1, vocab]."""
    name, last_logits = cache_arguments()
    out = model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=positions(prompt_mask),
                use_cache=True, **last_logits)
    cache = getattr(out, name)
    cache.batch_repeat_interleave(repeats)
    return cache, out.logits[:, -1:].repeat_interleave(repeats, 0)
