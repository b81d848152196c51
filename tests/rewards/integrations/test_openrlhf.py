"""OpenRLHF 0.11.2's own rollout code (openrlhf/utils/agent.py, SingleTurnAgentExecutor) gets its rewards from us.

OpenRLHF needs flash-attn and deepspeed, so `make install` installs it without dependencies, and its agent
module is imported here on its own: `openrlhf.utils`' __init__ would pull in the training stack.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import types
from pathlib import Path
from types import ModuleType, SimpleNamespace

import httpx
import pytest

import rewards.integrations.openrlhf as openrlhf_adapter
from rewards.errors import RewardServiceError
from tests.procs import free_port, launch
from tests.rewards.integrations.conftest import UNGRADED, break_service
from trainer.tiny import byte_tokenizer

REWARD_FILE = str(Path(openrlhf_adapter.__file__))
PROMPT = "Q: 2+2? A: "
# the keys OpenRLHF 0.11.2 sets itself in a sample's info dict before it adds the extra logs
# (openrlhf/trainer/ppo_utils/samples_generator.py, _process_response_into_experience)
OPENRLHF_INFO_KEYS = {"reward", "score", "response_clip_ratio"}


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.find_spec("openrlhf")
    assert spec is not None and spec.submodule_search_locations, "make install installs openrlhf (no deps)"
    utils = types.ModuleType("openrlhf.utils")
    utils.__path__ = [str(Path(spec.submodule_search_locations[0]) / "utils")]
    monkeypatch.setitem(sys.modules, "openrlhf.utils", utils)
    monkeypatch.delitem(sys.modules, "openrlhf.utils.agent", raising=False)
    return importlib.import_module("openrlhf.utils.agent")


class Engine:
    """Stands in for OpenRLHF's vLLM engine: it 'generates' a fixed reply."""

    def __init__(self, tokenizer, reply: str) -> None:
        self.ids = tokenizer.encode(reply, add_special_tokens=False)

    async def generate(self, prompt_ids, params, multi_modal_data=None):
        out = SimpleNamespace(token_ids=self.ids, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[out])


def rollout(executor, reply: str, label: str) -> dict:
    """One of OpenRLHF's single-turn rollouts, scored by `executor` as OpenRLHF does."""
    tokenizer = byte_tokenizer()
    params = SimpleNamespace(max_tokens=32, logprobs=None)
    return asyncio.run(executor.execute(PROMPT, label, params, 256, tokenizer, Engine(tokenizer, reply)))


@pytest.fixture(scope="module")
def keyed_server():
    with launch(["serve", "--workers", "1"], free_port(), env={"RLVR_API_KEY": "s3cret"}) as url:
        yield url


def test_reward_func_file_reaches_a_service_with_an_api_key(agent, keyed_server, monkeypatch):
    """OpenRLHF sends no Authorization header to a remote reward URL; the reward_func file reads RLVR_API_KEY."""
    r = httpx.post(keyed_server + "/get_reward", json={"query": [PROMPT + "\\boxed{4}"], "labels": ["4"]}, timeout=30)
    assert r.status_code == 401  # what OpenRLHF's own HTTP client gets from a keyed service
    for name, value in {"RLVR_URL": keyed_server, "RLVR_API_KEY": "s3cret", "RLVR_GRADER": "math"}.items():
        monkeypatch.setenv(name, value)
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=REWARD_FILE)
    right, wrong = rollout(executor, "so \\boxed{4}", "4"), rollout(executor, "so \\boxed{5}", "4")
    assert float(right["reward"]) == 1.0 and float(right["scores"]) == 1.0
    assert float(wrong["reward"]) == 0.0
    assert right["extra_logs"] and not OPENRLHF_INFO_KEYS & set(right["extra_logs"])


def test_reward_func_failure_leaves_the_sample_without_a_reward(agent):
    """A sample the service could not grade is no 0: the file raises, OpenRLHF leaves the reward None."""
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=REWARD_FILE)
    break_service(executor.reward_func.__globals__["_clients"])  # the module OpenRLHF loaded from the file
    with pytest.raises(RewardServiceError, match=UNGRADED):
        executor.reward_func([PROMPT + "\\boxed{4}"], [PROMPT], ["4"])
    out = rollout(executor, "so \\boxed{4}", "4")
    assert out["reward"] is None and out["scores"] is None


def test_get_reward_route_answers_openrlhfs_http_client(agent, server):
    out = rollout(agent.SingleTurnAgentExecutor(remote_rm_url=server + "/get_reward"), "so \\boxed{4}", "4")
    assert out["reward"] == [1.0] and out["scores"] == [1.0]
