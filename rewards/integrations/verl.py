"""veRL custom reward functions backed by the reward service.

In the veRL config: `custom_reward_function.path=<site-packages>/rewards/integrations/verl.py` and
`custom_reward_function.name=compute_score` (NaiveRewardManager) or `compute_score_batch`
(BatchRewardManager). The service is found through RLVR_URL, RLVR_GRADER and RLVR_API_KEY.
A sample the service could not grade raises instead of becoming a made-up 0.
"""

from __future__ import annotations

import functools
from typing import Any

from rewards.client import RewardClient
from rewards.errors import RewardServiceError
from rewards.integrations._env import client_from_env, grader_from_env


@functools.cache
def _client() -> RewardClient:
    return client_from_env()


def _item(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any) -> dict[str, Any]:
    metadata = {"data_source": data_source}
    if isinstance(extra_info, dict):
        metadata.update({k: v for k, v in extra_info.items() if isinstance(v, str | int | float | bool)})
    return {"completion": solution_str, "reference": ground_truth, "metadata": metadata}


def compute_score_batch(data_sources: list[Any], solution_strs: list[str], ground_truths: list[Any],
                        extra_infos: list[Any] | None = None, **kwargs: Any) -> list[float]:
    """Score a batch; veRL's BatchRewardManager signature."""
    extra_infos = extra_infos if extra_infos is not None else [None] * len(solution_strs)
    items = [_item(*row) for row in zip(data_sources, solution_strs, ground_truths, extra_infos, strict=True)]
    scores = _client().score_batch(grader_from_env(), items)
    if failed := [s.error for s in scores if s.error is not None]:
        raise RewardServiceError(f"{len(failed)} of {len(scores)} samples could not be graded: {failed[0]}")
    return [s.reward for s in scores]


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None,
                  **kwargs: Any) -> float:
    """Score one sample; veRL's default `compute_score` signature."""
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]
