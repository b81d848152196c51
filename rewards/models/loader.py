"""Load a model and its tokenizer once per service process and share them between graders.

Everything that touches torch runs on one dedicated thread (`model_executor`), so forward passes
never block the event loop and never race each other for the CPU threads torch already uses.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

Head = Literal["reward", "token", "causal", "remote"]  # remote: AutoModel with the repository's own code
EXECUTOR_KEY = "models.executor"
REMOTE_CODE_ENV = "RLVR_ALLOW_REMOTE_CODE"
THREADS_ENV = "RLVR_TORCH_THREADS"  # torch CPU threads for model graders (default: torch's own choice)


@dataclass(frozen=True)
class LoadedModel:
    """A model in eval mode on its device, with its tokenizer."""

    name: str
    model: Any
    tokenizer: Any
    device: str


def model_executor(resources: dict[str, Any]) -> ThreadPoolExecutor:
    """The one thread all model work of this process runs on."""
    executor = resources.get(EXECUTOR_KEY)
    if executor is None:
        executor = resources[EXECUTOR_KEY] = ThreadPoolExecutor(1, thread_name_prefix="models")
    return executor


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
    }[head]
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # a reward is read at the last token and generation continues the end, so long inputs keep their end;
    # a PRM keeps its first steps
    tokenizer.truncation_side = "right" if head in ("token", "remote") else "left"
    if head == "causal":
        tokenizer.padding_side = "left"  # generation continues every prompt from its end
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = auto.from_pretrained(name, dtype=dtype, trust_remote_code=remote).to(device).train(False)  # inference mode
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(name=name, model=model, tokenizer=tokenizer, device=device)


async def load_shared(resources: dict[str, Any], name: str, head: Head) -> LoadedModel:
    """The process-wide instance of (`name`, `head`), loaded on first use; concurrent callers share one load."""
    key = f"model:{head}:{name}"
    task = resources.get(key)
    if task is None:
        loop = asyncio.get_running_loop()
        task = resources[key] = asyncio.ensure_future(
            loop.run_in_executor(model_executor(resources), load_sync, name, head)
        )
    try:
        return await asyncio.shield(task)
    except Exception:
        if resources.get(key) is task:
            del resources[key]  # a failed load is retried by the next request, not cached
        raise
