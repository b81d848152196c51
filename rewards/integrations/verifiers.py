"""A verifiers (0.4) task reward backed by the reward service.

verifiers 0.4 scores a rollout with a task's `@vf.reward` functions, and a config can plug more in by
import path, so no code is needed:

    --env.taskset.task.rewards.rlvr.fn=rewards.integrations.verifiers:reward
    --env.taskset.task.rewards.rlvr.weight=1.0

The completion is the trace's final reply; the reference is the first of the task data's fields
`reference`, `answer`, `solution`, `ground_truth` and `label` that is set. The service is found through
RLVR_URL, RLVR_GRADER and RLVR_API_KEY. A sample the service could not grade raises: verifiers records
the error on the trace and leaves the reward unscored (None) instead of a made-up 0.
"""

from __future__ import annotations

from typing import Any

from rewards.errors import RewardServiceError
from rewards.integrations._env import LazyClients, grader_from_env, plain
from rewards.integrations.trl import REFERENCE_COLUMNS

_clients = LazyClients()


def _reference(task: Any) -> Any:
    fields = task.model_dump() if hasattr(task, "model_dump") else dict(vars(task))
    return next((plain(fields[f]) for f in REFERENCE_COLUMNS if fields.get(f) is not None), None)


async def reward(task: Any, trace: Any) -> float:
    """verifiers passes the task data and the trace by these parameter names."""
    metadata = {k: v for k in ("id", "name") if (v := getattr(task, k, None)) is not None}
    score = await _clients.current().score(grader_from_env(), completion=trace.last_reply,
                                           prompt=getattr(task, "prompt_text", ""),
                                           reference=_reference(task), metadata=metadata)
    if score.error is not None:
        raise RewardServiceError(f"the rollout could not be graded: {score.error}")
    return score.reward
