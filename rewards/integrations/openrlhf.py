"""OpenRLHF hookups.

Remote reward model: `--remote_rm_url http://127.0.0.1:8000/get_reward` (the service's
OpenRLHF-compatible route; its grader is `get_reward.grader` in the config). Or a reward function
file: `--remote_rm_url <site-packages>/rewards/integrations/openrlhf.py`, which calls `reward_func`.
"""

from __future__ import annotations

from typing import Any

from rewards.errors import RewardServiceError
from rewards.integrations._env import client_from_env, grader_from_env


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF's reward-function-file signature; the completion is each query minus its prompt."""
    import torch

    items = [{"prompt": p, "completion": q[len(p):] if q.startswith(p) else q, "reference": label}
             for q, p, label in zip(queries, prompts, labels, strict=True)]
    with client_from_env() as client:
        scores = client.score_batch(grader_from_env(), items)
    if failed := [s.error for s in scores if s.error is not None]:
        raise RewardServiceError(f"{len(failed)} of {len(scores)} samples could not be graded: {failed[0]}")
    rewards = torch.tensor([s.reward for s in scores], dtype=torch.float32)
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"rlvr_reward": rewards}}
