"""veRL 0.9.1's reward loop runs our functions: its RewardLoopWorker with the naive manager awaits the async
`compute_score` on numpy-typed rows, and the remote manager ships `compute_score_sync` to a Ray worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

import rewards.integrations.verl as verl_adapter
from tests.rewards.integrations.conftest import UNGRADED, break_async_service
from trainer.tiny import byte_tokenizer

VERL_FILE = Path(verl_adapter.__file__)
ROWS = [  # (response, ground truth as veRL's parquet rows give it)
    ("so \\boxed{4}", np.int64(4)),
    ("so \\boxed{5}", np.int64(4)),
    ("so \\boxed{1/2}", np.str_("0.5")),
]


@pytest.fixture
def tokenizer_dir(tmp_path: Path) -> Path:
    byte_tokenizer().save_pretrained(tmp_path / "tok")
    return tmp_path / "tok"


def config(tokenizer_dir: Path, manager: str, fn: str):
    from omegaconf import OmegaConf

    return OmegaConf.create({
        "actor_rollout_ref": {"model": {"path": str(tokenizer_dir), "tokenizer_path": None}},
        "reward": {"custom_reward_function": {"path": str(VERL_FILE), "name": fn, "reward_kwargs": {}},
                   "reward_manager": {"name": manager, "source": "register"}, "num_workers": 1,
                   "reward_model": {"enable": False}, "sandbox_fusion": None},
    })


def batch(tokenizer):
    """A DataProto as veRL's rollout hands it over: left-padded prompts, right-padded responses, numpy rows."""
    import torch
    from verl import DataProto

    prompt = tokenizer.encode("2+2?")
    responses = [tokenizer.encode(text) for text, _ in ROWS]
    width = max(map(len, responses))
    resp = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r in responses])
    mask = torch.tensor([[1] * len(prompt) + [1] * len(r) + [0] * (width - len(r)) for r in responses])
    return DataProto.from_dict(
        tensors={"prompts": torch.tensor([prompt] * len(ROWS)), "responses": resp, "attention_mask": mask},
        non_tensors={
            "data_source": np.array(["gsm8k"] * len(ROWS), dtype=object),
            "reward_model": np.array([{"ground_truth": gt} for _, gt in ROWS], dtype=object),
            "extra_info": np.array([{"index": np.int64(i), "split": "train", "weights": np.array([0.5, 1.0])}
                                    for i in range(len(ROWS))], dtype=object),
        },
    )


def test_reward_loop_worker_awaits_compute_score_on_numpy_rows(server, tokenizer_dir, monkeypatch):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    monkeypatch.setenv("RLVR_URL", server)
    monkeypatch.setenv("RLVR_GRADER", "math")
    worker = RewardLoopWorker(config(tokenizer_dir, "naive", "compute_score"))
    assert worker.reward_manager.is_async_reward_score  # veRL awaits it instead of using a thread
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch(worker.input_tokenizer)))

    assert [o["reward_score"] for o in outputs] == [1.0, 0.0, 1.0]
    infos = [o["reward_extra_info"] for o in outputs]
    # veRL stacks every sample's extra keys under the first sample's: they must be the same set
    assert all(set(info) == {"score", *verl_adapter.EXTRA} for info in infos)
    assert [info["acc"] for info in infos] == [1.0, 0.0, 1.0]

    loaded = worker.reward_manager.compute_score.args[0]  # veRL's partial around the function it loaded from the file
    assert loaded.__name__ == "compute_score"
    # Ray pickles the function by value (its module was loaded from a path); its open client stays behind
    from ray import cloudpickle

    shipped = cloudpickle.loads(cloudpickle.dumps(worker.reward_manager.compute_score))
    assert worker.loop.run_until_complete(shipped(data_source="x", solution_str="\\boxed{2}", ground_truth="2"))[
        "score"] == 1.0

    async def ungraded():
        break_async_service(loaded.__globals__["_clients"])
        return await worker.compute_score_batch(batch(worker.input_tokenizer))

    with pytest.raises(Exception, match=UNGRADED):  # no made-up 0 for a sample the service could not grade
        worker.loop.run_until_complete(ungraded())


def test_remote_reward_manager_runs_compute_score_sync_in_a_ray_worker(server, tokenizer_dir, monkeypatch):
    import ray
    from verl.trainer.ppo.reward import load_reward_manager

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    env = {"RLVR_URL": server, "RLVR_GRADER": "math", "RAY_AUTH_MODE": "disabled"}
    ray.init(num_cpus=1, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False,
             runtime_env={"env_vars": env})
    try:
        manager = load_reward_manager(config(tokenizer_dir, "remote", "compute_score_sync"), byte_tokenizer())
        data = batch(manager.tokenizer)
        outputs = manager.loop.run_until_complete(asyncio.gather(*(manager.run_single(data[i:i + 1])
                                                                   for i in range(len(data)))))
    finally:
        ray.shutdown()
    assert [o["reward_score"] for o in outputs] == [1.0, 0.0, 1.0]
    assert all(set(o["reward_extra_info"]) == {"score", *verl_adapter.EXTRA} for o in outputs)
