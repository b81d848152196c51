"""Per-process batchers over shared models, keyed so that graders with the same settings share one queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rewards.models.batcher import DynamicBatcher
from rewards.models.loader import Head, LoadedModel, load_shared, model_executor
from rewards.types import Score


async def shared_batcher(
    resources: dict[str, Any],
    model: str,
    head: Head,
    run: Callable[[LoadedModel, list[Any]], Sequence[Any]],
    key: tuple,
    max_batch: int,
    wait_ms: float,
) -> tuple[LoadedModel, DynamicBatcher]:
    """The model and the batcher feeding `run(model, items)` for `key`; loads the model on first use."""
    lm = await load_shared(resources, model, head)
    name = f"batcher:{head}:{model}:{key}:{max_batch}:{wait_ms}"
    batcher = resources.get(name)
    if batcher is None:
        batcher = resources[name] = DynamicBatcher(
            lambda items: run(lm, items), model_executor(resources), max_batch=max_batch, wait_ms=wait_ms
        )
    return lm, batcher


def render_each(render_one: Callable[[int], str], total: int) -> tuple[list[str], dict[int, Score]]:
    """Model inputs for the samples 0..total-1 that render, and an error score for each that does not.

    Rendering happens before batching, so one sample the chat template rejects (say, an empty
    prompt where the template demands a user turn) fails alone instead of failing its whole batch.
    """
    texts, failed = [], {}
    for index in range(total):
        try:
            texts.append(render_one(index))
        except Exception as exc:  # noqa: BLE001 - templates raise for conversations they do not support
            failed[index] = Score.failed(f"the chat template rejected this sample: {exc}"[:500])
    return texts, failed


def merge(failed: dict[int, Score], scored: list[Score], total: int) -> list[Score]:
    """Scores in sample order from the failed ones (by index) and the rest (in order)."""
    rest = iter(scored)
    return [failed[i] if i in failed else next(rest) for i in range(total)]
