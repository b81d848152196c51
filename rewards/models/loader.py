"""Load a model and its tokenizer: the model server loads the whole model, the reward service only tokenizers.

The model server (`rlvr serve-model`) runs every forward pass on one dedicated thread, so passes never
block its event loop and never race each other for the CPU threads torch already uses.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any, Literal

Head = Literal["reward", "token", "causal", "remote", "embed"]  # remote: AutoModel with the repository's own code;
# embed: AutoModel, its hidden states mean-pooled into a sentence embedding (/v1/embeddings)
REMOTE_CODE_ENV = "RLVR_ALLOW_REMOTE_CODE"
THREADS_ENV = "RLVR_TORCH_THREADS"  # torch CPU threads of a model server (default: torch's own choice)


@dataclass(frozen=True)
class LoadedModel:
    """A model in eval mode on its device, with its tokenizer."""

    name: str
    model: Any
    tokenizer: Any
    device: str


def load_tokenizer(name: str) -> Any:
    """The tokenizer of `name` (local path or hub name): what a grader renders its inputs with."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def load_sync(name: str, head: Head, threads: int | None = None) -> LoadedModel:
    """Load `name` (local path or hub name) with the auto class for `head`; bf16 on GPU, fp32 on CPU."""
    import torch
    from transformers import (
        AutoModel,
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    threads = threads or int(os.environ.get(THREADS_ENV) or 0)
    if threads:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    remote = head == "remote"
    if remote and os.environ.get(REMOTE_CODE_ENV) != "1":
        raise PermissionError(f"models with their own code (e.g. Qwen2.5-Math-PRM) need {REMOTE_CODE_ENV}=1 "
                              "on the server: it runs code from the model repository")
    auto = {
        "reward": AutoModelForSequenceClassification,
        "token": AutoModelForTokenClassification,
        "causal": AutoModelForCausalLM,
        "remote": AutoModel,
        "embed": AutoModel,
    }[head]
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # a reward is read at the last token and generation continues the end, so long inputs keep their end;
    # a PRM keeps its first steps, an embedding the text's start
    tokenizer.truncation_side = "right" if head in ("token", "remote", "embed") else "left"
    if head == "causal":
        tokenizer.padding_side = "left"  # generation continues every prompt from its end
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = auto.from_pretrained(name, dtype=dtype, trust_remote_code=remote).to(device).train(False)  # inference mode
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(name=name, model=model, tokenizer=tokenizer, device=device)


class Tokenizers:
    """Tokenizers loaded once per process (on a thread, on first use) for graders to render inputs with."""

    def __init__(self) -> None:
        self._loads: dict[str, asyncio.Future[Any]] = {}

    async def get(self, name: str) -> Any:
        """The tokenizer of `name`; concurrent callers share one load, a failed load is retried next time."""
        load = self._loads.get(name)
        if load is None:
            load = self._loads[name] = asyncio.ensure_future(asyncio.to_thread(load_tokenizer, name))
        try:
            return await asyncio.shield(load)
        except Exception:
            if self._loads.get(name) is load:
                del self._loads[name]
            raise
