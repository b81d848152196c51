"""Loading the policy and tokenizer (full or LoRA, with frozen parts), the frozen reference, and PPO's value head."""

from __future__ import annotations

import contextlib
import copy
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from trainer.config import LoraConfig, ModelConfig

log = logging.getLogger("rlvr.trainer")


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


def with_lora(model: nn.Module, cfg: LoraConfig | None, task_type: str, exclude: Sequence[str] = ()) -> Any:
    """`model` with LoRA adapters of `cfg` (only they train), or `model` itself without a LoRA config.
    Modules named in `exclude`, and everything inside them, get no adapter."""
    if cfg is None:
        return model
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    skipped = f"(?:{'|'.join(map(re.escape, exclude))})(?:\\..*)?" if exclude else None  # peft full-matches it
    adapters = PeftLoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                              target_modules=cfg.target_modules, exclude_modules=skipped, task_type=task_type)
    with warnings.catch_warnings():  # frozen embeddings that LoRA would not have targeted anyway: nothing to say
        warnings.filterwarnings("ignore", message="You have passed exclude_modules")
        return get_peft_model(model, adapters)


def decoder_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The transformer blocks of a transformers model, and their qualified name: the one module list as long as
    the config's layer count (`model.layers` in Llama, Qwen or Mistral, `transformer.h` in GPT-2,
    `gpt_neox.layers` in Pythia, `model.decoder.layers` in OPT)."""
    config: Any = getattr(model, "config", None)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    count = getattr(text, "num_hidden_layers", None)
    found = [(name, module) for name, module in model.named_modules()
             if isinstance(module, nn.ModuleList) and count and len(module) == count]
    if len(found) != 1:
        lists = [(name, len(m)) for name, m in model.named_modules() if isinstance(m, nn.ModuleList)]
        raise ValueError(f"model.freeze_layers: cannot tell the decoder layers of {type(model).__name__} "
                         f"(config num_hidden_layers={count}; module lists: {lists or 'none'})")
    return found[0]


def frozen_modules(model: nn.Module, cfg: ModelConfig) -> dict[str, nn.Module]:
    """The modules `cfg.freeze` and `cfg.freeze_layers` name, by qualified name in `model`."""
    frozen: dict[str, nn.Module] = {}
    if "embeddings" in cfg.freeze:
        hf: Any = model  # a transformers PreTrainedModel
        embeddings = hf.get_input_embeddings()
        frozen.update((name, m) for name, m in model.named_modules() if m is embeddings)
    if cfg.freeze_layers:
        prefix, layers = decoder_layers(model)
        if cfg.freeze_layers > len(layers):
            raise ValueError(f"model.freeze_layers={cfg.freeze_layers}, but the model has {len(layers)} layers")
        frozen.update((f"{prefix}.{i}", layers[i]) for i in range(cfg.freeze_layers))
    return frozen


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; a tied weight counts once."""
    unique = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in unique if p.requires_grad), sum(p.numel() for p in unique)


def load_policy(cfg: ModelConfig, device: torch.device) -> nn.Module:
    """The trainable policy; with `lora` only the adapter trains and the base stays the reference.

    `freeze` and `freeze_layers` stop those parts from training: in full fine-tuning their parameters leave
    the optimizer (it takes those with `requires_grad`); with LoRA their linear layers get no adapter. An
    output head tied to the input embeddings is the same tensor, so freezing the embeddings freezes it too."""
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(cfg.path, dtype=pick_dtype(cfg, device))
    frozen = frozen_modules(model, cfg)
    for module in frozen.values():
        module.requires_grad_(False)
    if "embeddings" in cfg.freeze:
        head = model.get_output_embeddings()
        if head is not None and head.weight is model.get_input_embeddings().weight:
            log.info("model.freeze: the output head is tied to the input embeddings, so it is frozen too")
    policy: nn.Module = with_lora(model.to(device), cfg.lora, "CAUSAL_LM", exclude=list(frozen))
    trainable, total = trainable_parameters(policy)
    log.info("trainable parameters: %d of %d (%.2f%%)%s", trainable, total, 100 * trainable / max(total, 1),
             f"; frozen: {', '.join(frozen)}" if frozen else "")
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
