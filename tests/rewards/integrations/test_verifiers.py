"""verifiers 0.4 scores rollouts with our reward: plugged into a task by its config, by import path, and run by
`Task.score`, the call its rollouts and its replay command make."""

from __future__ import annotations

import asyncio

import pytest
import verifiers.v1 as vf
from verifiers.v1.graph import MessageNode
from verifiers.v1.trace import AgentInfo, Trace, TraceTask

import rewards.integrations.verifiers as vf_adapter
from tests.rewards.integrations.conftest import UNGRADED, break_async_service

PLUGGED = {"rewards": {"rlvr": {"fn": "rewards.integrations.verifiers:reward", "weight": 2.0}}}


class MathData(vf.TaskData):
    answer: str


class MathTask(vf.Task[MathData]):
    @vf.reward(weight=0.5)
    async def says_something(self, trace: vf.Trace) -> float:
        return float(bool(trace.last_reply))


def rollout(task: MathTask, reply: str) -> Trace:
    user, assistant = vf.UserMessage(content=task.data.prompt_text), vf.AssistantMessage(content=reply)
    return Trace(task=TraceTask(type="MathTask", data=task.data), agent=AgentInfo(config=vf.AgentConfig()),
                 nodes=[MessageNode(message=user), MessageNode(parent=0, message=assistant, sampled=True)])


@pytest.fixture
def task(server, monkeypatch) -> MathTask:
    monkeypatch.setenv("RLVR_URL", server)
    monkeypatch.setenv("RLVR_GRADER", "math")
    config = vf.TaskConfig.model_validate(PLUGGED)  # as `--env.taskset.task.rewards.rlvr.fn=...` sets it
    return MathTask(MathData(prompt="What is 2+2?", answer="4"), config)


def test_a_task_config_plugs_in_the_rlvr_reward(task):
    right, wrong = rollout(task, "so \\boxed{4}"), rollout(task, "so \\boxed{5}")
    for trace in (right, wrong):
        asyncio.run(task.score(trace))
    assert right.rewards["rlvr"] == vf.Reward(score=1.0, weight=2.0)
    assert wrong.rewards["rlvr"] == vf.Reward(score=0.0, weight=2.0)
    assert (right.reward, wrong.reward) == (2.5, 0.5)  # beside the task's own @vf.reward


def test_an_ungraded_rollout_is_an_error_not_a_zero(task):
    trace = rollout(task, "so \\boxed{4}")

    async def score() -> None:
        break_async_service(vf_adapter._clients)
        await task.score(trace)

    with pytest.raises(vf.TaskError, match=UNGRADED):
        asyncio.run(score())
    assert trace.rewards["rlvr"] is None  # verifiers' mark for a reward that was not scored
