"""Loading the policy and tokenizer (full or LoRA), the frozen reference, and PPO's value head."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from trainer.config import LoraConfig, ModelConfig


def pick_dtype(cfg: ModelConfig, device: torch.device) -> torch.dtype:
    """bf16 on GPU, fp32 on CPU, unless the config says otherwise."""
    if cfg.dtype != "auto":
        return torch.float32 if cfg.dtype == "float32" else torch.bfloat16
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def load_tokenizer(path: str) -> Any:
    """The tokenizer of `path`, padding on the left (so completions line up) with eos as pad if it has none."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # prompts are left-padded so completions line up
    return tokenizer


def with_lora(model: nn.Module, cfg: LoraConfig | None, task_type: str) -> Any:
    """`model` with LoRA adapters of `cfg` (only they train), or `model` itself without a LoRA config."""
    if cfg is None:
        return model
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    adapters = PeftLoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                              target_modules=cfg.target_modules, task_type=task_type)
    return get_peft_model(model, adapters)


def load_policy(cfg: ModelConfig, device: torch.device) -> nn.Module:
    """The trainable policy; with `lora` only the adapter trains and the base stays the reference."""
    from transformers import AutoModelForCausalLM

    model: nn.Module = AutoModelForCausalLM.from_pretrained(cfg.path, dtype=pick_dtype(cfg, device))
    policy: nn.Module = with_lora(model.to(device), cfg.lora, "CAUSAL_LM")
    return policy


class Reference:
    """The frozen reference policy: the LoRA base with its adapter disabled, or else a frozen copy."""

    def __init__(self, policy: nn.Module, needed: bool) -> None:
        self.needed = needed
        self.copy: nn.Module | None = None
        if needed and not hasattr(policy, "disable_adapter"):
            self.copy = copy.deepcopy(policy).eval().requires_grad_(False)

    @contextlib.contextmanager
    def model(self, policy: nn.Module) -> Iterator[nn.Module]:
        """The reference for the length of a `with` block (a LoRA policy gets its adapter back afterwards)."""
        if self.copy is not None:
            yield self.copy
        else:
            peft_model: Any = policy  # a peft PeftModel (peft ships no types)
            with peft_model.disable_adapter():
                yield policy


class PolicyWithValue(nn.Module):
    """The policy plus a scalar value head on its last hidden state (PPO's critic, sharing the trunk)."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy
        config: Any = policy.config  # a transformers PretrainedConfig
        self.value_head = nn.Linear(config.hidden_size, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.policy(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          output_hidden_states=True)
        values = self.value_head(out.hidden_states[-1].to(self.value_head.weight.dtype)).squeeze(-1)
        return out.logits, values
