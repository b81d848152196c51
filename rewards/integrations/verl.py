"""veRL custom reward functions backed by the reward service (veRL 0.9's reward loop).

    reward.custom_reward_function.path=<site-packages>/rewards/integrations/verl.py
    reward.custom_reward_function.name=compute_score        # reward_manager naive (default), dapo, gdpo
    reward.custom_reward_function.name=compute_score_sync   # reward_manager remote (it refuses async)

`compute_score` is async: veRL awaits it directly on its reward loop. Both return a dict of
`score` and the keys in `EXTRA`, the same keys for every sample: veRL files each sample's extra keys
under the first sample's, one array per key, for its logs. Ground truths and extra_info arrive as numpy
values and are made plain before they go out. The service is found through RLVR_URL, RLVR_GRADER and
RLVR_API_KEY, read in the worker that scores; its client is opened there on first use and never
pickled, so Ray can ship these functions to its reward workers. A sample the service could not grade
raises instead of becoming a made-up 0.
"""

from __future__ import annotations

from typing import Any

from rewards.errors import RewardServiceError
from rewards.integrations._env import LazyClients, grader_from_env, jsonable, plain
from rewards.types import Score

# the keys besides "score" in every returned dict, logged by veRL per sample: `acc` is the grader's reward
# (the key veRL itself logs for a float result), `rlvr_timeout` 1.0 where grading gave up at its budget
EXTRA = ("acc", "rlvr_timeout")

_clients = LazyClients()


def _item(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any) -> dict[str, Any]:
    metadata = {"data_source": plain(data_source)}
    if isinstance(extra_info, dict):
        extra = plain(extra_info)
        metadata.update({k: v for k, v in extra.items() if v is not None and jsonable(v)})
    return {"completion": solution_str, "reference": plain(ground_truth), "metadata": metadata}


def _result(score: Score) -> dict[str, Any]:
    if score.error is not None:
        raise RewardServiceError(f"the sample could not be graded: {score.error}")
    return {"score": score.reward, "acc": score.reward, "rlvr_timeout": float(score.is_timeout)}


async def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None,
                        **kwargs: Any) -> dict[str, Any]:
    """Score one sample; what veRL's naive, dapo and gdpo reward managers await."""
    item = _item(data_source, solution_str, ground_truth, extra_info)
    return _result(await _clients.current().score(grader_from_env(), **item))


def compute_score_sync(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None,
                       **kwargs: Any) -> dict[str, Any]:
    """Score one sample, blocking; for veRL's remote reward manager, which runs it in Ray workers."""
    item = _item(data_source, solution_str, ground_truth, extra_info)
    return _result(_clients.sync().score(grader_from_env(), **item))
