"""Reward-model and PRM variants of the tiny byte-level models in `trainer.tiny` (tests, demos, benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from trainer.tiny import byte_tokenizer, tiny_model

STEP_TAG = "<step>"


def save_tiny_head(
    path: str | Path, head: Literal["reward", "token", "causal"], chat_template: bool = True, **model_kwargs: int
) -> Path:
    """Write a tiny sequence classifier (1 output), token classifier (2 labels) or causal LM, plus tokenizer.

    The tokenizer gets one extra special token, `<step>`, the tag a PRM reads its step scores at;
    without `chat_template`, inputs are plain concatenations (shorter, so toy training is faster).
    """
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    tokenizer = byte_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": [STEP_TAG]})
    if not chat_template:
        tokenizer.chat_template = None
    config = tiny_model(tokenizer, **model_kwargs).config
    if head == "reward":
        config.num_labels = 1
        model = AutoModelForSequenceClassification.from_config(config)
    elif head == "token":
        config.num_labels = 2
        model = AutoModelForTokenClassification.from_config(config)
    else:
        model = AutoModelForCausalLM.from_config(config)
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
