"""OpenRLHF hookups (OpenRLHF 0.11).

Reward function file: `--remote_rm_url <site-packages>/rewards/integrations/openrlhf.py`. OpenRLHF
loads the file and calls `reward_func` in its rollout workers; the service is found through RLVR_URL,
RLVR_GRADER and RLVR_API_KEY there. This is the way to a service that requires an API key: OpenRLHF
posts to a remote reward URL with no headers of its own.

Remote reward model: `--remote_rm_url http://127.0.0.1:8000/get_reward` (the service's
OpenRLHF-compatible route; its grader is `get_reward.grader` in the config), for a service without
an API key.

`extra_logs` carries `rlvr_reward` only: OpenRLHF files the extra logs beside its own `reward` and
`score`, so a key of either name would overwrite them.
"""

from __future__ import annotations

from typing import Any

from rewards.errors import RewardServiceError
from rewards.integrations._env import LazyClients, grader_from_env, plain

_clients = LazyClients()


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF's reward-function-file signature; the completion is each query minus its prompt.

    A sample the service could not grade raises: OpenRLHF then leaves the sample without a reward
    instead of training on a made-up 0.
    """
    import torch

    items = [{"prompt": p, "completion": q[len(p):] if q.startswith(p) else q, "reference": plain(label)}
             for q, p, label in zip(queries, prompts, labels, strict=True)]
    scores = _clients.sync().score_batch(grader_from_env(), items)
    if failed := [s.error for s in scores if s.error is not None]:
        raise RewardServiceError(f"{len(failed)} of {len(scores)} samples could not be graded: {failed[0]}")
    rewards = torch.tensor([s.reward for s in scores], dtype=torch.float32)
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"rlvr_reward": rewards}}
