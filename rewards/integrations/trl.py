"""TRL `reward_funcs` callables (GRPOTrainer, RLOOTrainer, the async GRPO trainer) backed by the reward service.

    trainer = GRPOTrainer(..., reward_funcs=[TRLReward("math", url="http://127.0.0.1:8000")])

`AsyncTRLReward` is the same with an `async __call__`: TRL awaits it on its event loop, alongside
other async reward functions. Both pickle (TRL's async GRPO trainer sends reward functions to its
rollout process): the connection pool is opened on first use in each process.

Dataset columns arrive as keyword arguments; the reference column goes to the grader as
`reference`, the other JSON-friendly columns as `metadata`. Samples the service could not grade
come back as None, which TRL leaves out of the reward instead of counting them as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.integrations._env import LazyClients, jsonable, plain
from rewards.types import Score

REFERENCE_COLUMNS = ("reference", "answer", "solution", "ground_truth", "label")
TRL_INTERNAL = {"trainer_state", "completion_ids", "prompt_ids", "log_extra", "log_metric", "environments"}


def message_text(value: Any) -> str:
    """Plain text of a completion or prompt, standard (str) or conversational (list of messages)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("content", ""))
    if isinstance(value, Sequence):
        return "\n".join(message_text(m) for m in value)
    return str(value)


def completion_text(value: Any) -> str:
    """The assistant's reply: for a conversation, the content of its assistant turns."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        turns = [m for m in value if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        return message_text(turns or list(value))
    return message_text(value)


class TRLReward:
    """Callable with TRL's reward-function signature: (prompts, completions, **columns) -> rewards.

    `url` and `api_key` default to RLVR_URL and RLVR_API_KEY, read in the process that scores.
    """

    def __init__(
        self,
        grader: str | dict[str, Any] = "math",
        url: str | Sequence[str] | None = None,
        *,
        reference_column: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
    ) -> None:
        self.grader = grader
        self.reference_column = reference_column
        self.clients = LazyClients(url, api_key)
        kind = grader if isinstance(grader, str) else grader.get("type", "grader")
        self.__name__ = name or f"rlvr_{kind}"  # TRL logs each reward function under its __name__

    def _reference_column(self, columns: dict[str, Any]) -> str | None:
        if self.reference_column is not None:
            return self.reference_column
        return next((c for c in REFERENCE_COLUMNS if c in columns), None)

    def _items(self, prompts: list[Any], completions: list[Any], columns: dict[str, Any]) -> list[dict[str, Any]]:
        columns = {k: v for k, v in columns.items() if k not in TRL_INTERNAL and isinstance(v, list)}
        ref_col = self._reference_column(columns)
        items = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            row = {k: plain(v[i]) for k, v in columns.items()}
            items.append({
                "prompt": message_text(prompt),
                "completion": completion_text(completion),
                "reference": row.pop(ref_col) if ref_col else None,
                "metadata": {k: v for k, v in row.items() if jsonable(v)},
            })
        return items

    @staticmethod
    def _rewards(scores: list[Score]) -> list[float | None]:
        return [None if s.error is not None else s.reward for s in scores]

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
        items = self._items(prompts, completions, columns)
        return self._rewards(self.clients.sync().score_batch(self.grader, items))


class AsyncTRLReward(TRLReward):
    """`TRLReward` with an async `__call__`: TRL runs it on its event loop, concurrently with other async
    reward functions, and the batch's chunks go to the service concurrently."""

    async def __call__(  # type: ignore[override]  # same arguments, awaited: TRL tells the two apart by this
        self, prompts: list[Any], completions: list[Any], **columns: Any
    ) -> list[float | None]:
        items = self._items(prompts, completions, columns)
        return self._rewards(await self.clients.current().score_batch(self.grader, items))
