"""A TRL `reward_funcs` callable (GRPOTrainer, RLOOTrainer) backed by the reward service.

    trainer = GRPOTrainer(..., reward_funcs=[TRLReward("math", url="http://127.0.0.1:8000")])

Dataset columns arrive as keyword arguments; the reference column goes to the grader as
`reference`, the other JSON-friendly columns as `metadata`. Samples the service could not grade
come back as None, which TRL leaves out of the reward instead of counting them as 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rewards.client import RewardClient
from rewards.integrations._env import urls_from_env

REFERENCE_COLUMNS = ("reference", "answer", "solution", "ground_truth", "label")
TRL_INTERNAL = {"trainer_state", "completion_ids", "prompt_ids", "log_extra", "log_metric"}


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


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class TRLReward:
    """Callable with TRL's reward-function signature: (prompts, completions, **columns) -> rewards."""

    def __init__(
        self,
        grader: str | dict[str, Any] = "math",
        url: str | Sequence[str] | None = None,
        *,
        reference_column: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        client: RewardClient | None = None,
    ) -> None:
        self.grader = grader
        self.reference_column = reference_column
        self.client = client or RewardClient(url or urls_from_env(), api_key=api_key)
        kind = grader if isinstance(grader, str) else grader.get("type", "grader")
        self.__name__ = name or f"rlvr_{kind}"  # TRL logs each reward function under its __name__

    def _reference_column(self, columns: dict[str, Any]) -> str | None:
        if self.reference_column is not None:
            return self.reference_column
        return next((c for c in REFERENCE_COLUMNS if c in columns), None)

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
        columns = {k: v for k, v in columns.items() if k not in TRL_INTERNAL and isinstance(v, list)}
        ref_col = self._reference_column(columns)
        items = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            metadata = {k: v[i] for k, v in columns.items() if k != ref_col and _jsonable(v[i])}
            items.append({
                "prompt": message_text(prompt),
                "completion": completion_text(completion),
                "reference": columns[ref_col][i] if ref_col else None,
                "metadata": metadata,
            })
        scores = self.client.score_batch(self.grader, items)
        return [None if s.error is not None else s.reward for s in scores]
