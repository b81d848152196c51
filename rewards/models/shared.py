"""What model graders do around a model server call: render each sample alone, merge scores back in order."""

from __future__ import annotations

from collections.abc import Callable

from rewards.types import Score


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
