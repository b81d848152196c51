"""TRL 1.16 calls our reward functions: GRPOTrainer trains a step with the sync and the async one, and the async
GRPO trainer's rollout code scores with them after they were pickled into a spawned process, as that trainer does."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import pickle

import pytest
import torch

from rewards.client import RewardClient
from rewards.integrations.trl import AsyncTRLReward, TRLReward
from tests.rewards.integrations.conftest import break_async_service, break_service
from trainer.tiny import save_tiny

# graded in [0, 1] against the reference, so even a random model's completions earn rewards that differ
SIMILAR = {"type": "format", "checks": [{"kind": "similarity", "metric": "fuzzy"}]}


def test_grpo_trainer_trains_on_the_sync_and_the_async_reward(server, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(2)
    model = save_tiny(tmp_path / "model", hidden=32, layers=1, heads=2)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.padding_side = "left"
    data = Dataset.from_list([{"prompt": f"{i}+1=", "answer": f"{i + 1} apples", "level": i} for i in range(4)])
    rewards = [TRLReward(SIMILAR, url=server, name="sync_sim"), AsyncTRLReward(SIMILAR, url=server, name="async_sim")]
    cfg = GRPOConfig(output_dir=str(tmp_path / "out"), per_device_train_batch_size=8, num_generations=4,
                     max_completion_length=8, max_steps=1, learning_rate=1e-5, beta=0.0, logging_steps=1,
                     save_strategy="no", report_to="none", use_cpu=True, bf16=False, dataloader_num_workers=0)
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model), args=cfg, train_dataset=data,
                          processing_class=tokenizer, reward_funcs=rewards)
    trainer.train()

    completions = list(trainer._logs["completion"])
    logged_sync, logged_async = (list(trainer._logs["rewards"][n]) for n in ("sync_sim", "async_sim"))
    answers = {f"{i}+1=": f"{i + 1} apples" for i in range(4)}
    with RewardClient(server) as client:
        truth = [s.reward for s in client.score_batch(SIMILAR, [
            {"completion": c, "reference": answers[p]} for p, c in zip(trainer._logs["prompt"], completions, strict=True)])]
    assert len(completions) == 8
    assert logged_sync == pytest.approx(truth, abs=1e-6) and logged_async == pytest.approx(truth, abs=1e-6)
    assert len(set(truth)) > 1  # not a constant: the references reached the grader row by row
    assert any(k == "rewards/async_sim/mean" for log in trainer.state.log_history for k in log)


def _score_in_child(payload: bytes, out: mp.Queue) -> None:
    """Runs in a spawned process: TRL's async GRPO rollout loop scores one group with the unpickled functions."""
    from accelerate import PartialState
    from trl.experimental.async_grpo.async_rollout_worker import (
        RolloutGroup,
        TrainingSequence,
        _AsyncRolloutLoop,
    )

    PartialState()  # TRL's rollout child logs through accelerate
    reward_funcs = pickle.loads(payload)["reward_funcs"]
    loop = _AsyncRolloutLoop.__new__(_AsyncRolloutLoop)  # only the scoring half: no vLLM, no tokenizer
    loop.reward_funcs, loop.reward_func_names, loop._env_reward_types = reward_funcs, [f.__name__ for f in reward_funcs], []
    completions = [[{"role": "assistant", "content": text}] for text in ("\\boxed{4}", "\\boxed{5}", "no idea")]
    group = RolloutGroup(
        prompts=[[{"role": "user", "content": "2+2?"}]] * 3, reward_kwargs={"answer": ["4"] * 3, "level": [1] * 3},
        completions=completions, completions_ids=[[1]] * 3,
        completions_sequences=[[TrainingSequence([1, 2], [0, 1], [0.0, -1.0], str(i))] for i in range(3)],
        tool_call_counts=[0] * 3, tool_failure_counts=[0] * 3, model_version=0, group_id=0,
        env_rewards=[None] * 3, rollout_rewards=[None] * 3)
    samples = asyncio.run(loop._score_group(group))
    out.put([{k: s.metrics[k] for k in ("rewards/rlvr_math", "rewards/async_math")} for s in samples])


def test_async_grpo_rollout_child_scores_with_pickled_rewards(server):
    rewards = [TRLReward("math", url=server), AsyncTRLReward("math", url=server, name="async_math")]
    assert rewards[0]([["q"]], ["\\boxed{4}"], answer=["4"]) == [1.0]  # the parent's client is open now
    payload = pickle.dumps({"reward_funcs": rewards})  # what AsyncRolloutWorker.start checks and sends
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_score_in_child, args=(payload, out))
    child.start()
    child.join(timeout=240)
    assert child.exitcode == 0
    metrics = out.get(timeout=5)
    assert metrics == [{"rewards/rlvr_math": r, "rewards/async_math": r} for r in (1.0, 0.0, 0.0)]


def test_an_ungraded_sample_is_none_for_trl(server):
    """A machinery failure is None, which TRL leaves out of the reward instead of counting a 0."""
    reward, areward = TRLReward("math", url=server), AsyncTRLReward("math", url=server)
    assert reward(["p", "p"], ["\\boxed{4}", "\\boxed{3}"], answer=["4", "4"]) == [1.0, 0.0]
    break_service(reward.clients)
    assert reward(["p", "p"], ["\\boxed{4}", "\\boxed{3}"], answer=["4", "4"]) == [None, None]

    async def ungraded() -> list[float | None]:
        break_async_service(areward.clients)
        return await areward(["p"], ["\\boxed{4}"], answer=["4"])

    assert asyncio.run(ungraded()) == [None]
