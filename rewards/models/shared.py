"""Per-process batchers over shared models, keyed so that graders with the same settings share one queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewards.models.batcher import DynamicBatcher
from rewards.models.loader import Head, LoadedModel, load_shared, model_executor


async def shared_batcher(
    resources: dict[str, Any],
    model: str,
    head: Head,
    run: Callable[[LoadedModel, list[Any]], Sequence[Any]],
    key: tuple,
    max_batch: int,
    wait_ms: float,
) -> DynamicBatcher:
    """The batcher feeding `run(model, items)` for `key`; loads the model on first use."""
    lm = await load_shared(resources, model, head)
    name = f"batcher:{head}:{model}:{key}:{max_batch}:{wait_ms}"
    batcher = resources.get(name)
    if batcher is None:
        batcher = resources[name] = DynamicBatcher(
            lambda items: run(lm, items), model_executor(resources), max_batch=max_batch, wait_ms=wait_ms
        )
    return batcher
