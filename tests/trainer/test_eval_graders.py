"""The RL loop's held-out evaluation: its own graders, its own problems, at the configured steps, off by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from rewards.types import Sample
from tests.trainer.test_train import config
from trainer.config import MonitorConfig, TrainConfig
from trainer.evaluate import HeldOut, held_out_problems
from trainer.generation import Rollouts
from trainer.metrics import read_metrics
from trainer.monitors import Monitors
from trainer.scoring import Scorer
from trainer.train import train

pytestmark = pytest.mark.timeout(900)  # training on a shared 2-core machine can be slow; never timed

FORMAT_ONLY = [{"grader": {"type": "format", "checks": [{"kind": "regex", "pattern": "^[0-9]+$"}]}}]
ANSWER = [{"grader": {"type": "math", "timeout_s": 30}}]


class Constant:
    """A policy that answers every prompt with the same well-formed number: right format, wrong answer."""

    def generate(self, prompts: list[str], group_size: int, greedy: bool = False) -> Rollouts:
        n = len(prompts) * group_size
        empty = torch.zeros(n, 0, dtype=torch.long)
        return Rollouts(empty, empty, empty, empty, empty.float(), torch.zeros(n, dtype=torch.bool), ["100"] * n)

    def sync(self, policy: torch.nn.Module) -> None:
        """Nothing to load: the answers are fixed."""


def run_config(url: str, **overrides: Any) -> TrainConfig:
    return config(Path("unused"), url, Path("unused"), reward={"urls": [url], "graders": FORMAT_ONLY}, **overrides)


@pytest.fixture
def scorer(reward_url: str) -> Iterator[Scorer]:
    cfg = run_config(reward_url)
    scorer = Scorer(cfg.reward)
    yield scorer
    scorer.close()


def test_the_eval_grades_with_its_own_graders_not_the_reward(reward_url: str, scorer: Scorer) -> None:
    cfg = run_config(reward_url, eval={"every": 1, "size": 10, "samples": 2, "graders": ANSWER})
    held_out = HeldOut(cfg, Constant(), tokenizer=None)
    # the reward pays the format, so an eval through the reward's graders says every answer is right
    assert HeldOut(run_config(reward_url, eval={"size": 10}), Constant(), None).measure(scorer) == {
        "eval/accuracy": 1.0}
    # the eval graders check the answer (1-digit sums are never 100): nothing is right
    assert held_out.measure(scorer) == {"eval/accuracy": 0.0, "eval/accuracy_sampled": 0.0}
    assert scorer.cfg.graders[0].grader == FORMAT_ONLY[0]["grader"]  # the training scorer keeps its graders


def test_the_eval_feeds_the_reward_up_eval_flat_monitor(reward_url: str, scorer: Scorer) -> None:
    cfg = run_config(reward_url, eval={"every": 2, "size": 10, "graders": ANSWER}, steps=5)
    held_out = HeldOut(cfg, Constant(), None)
    monitors = Monitors(MonitorConfig(rise=0.1), cfg.reward, 1)
    monitors.evals.append((0.0, 0.0))  # an earlier eval at reward 0; the window's reward is now 1 (format paid)
    rewards = scorer.score([Sample(prompt="1+1=", completion="100", reference="2")])
    assert rewards is not None
    monitors.observe(rewards, [1.0])
    odd: dict[str, Any] = {"step": 3}
    held_out.add_to(odd, scorer, monitors)
    assert odd == {"step": 3}  # not due
    record: dict[str, Any] = {"step": 4, "warnings": ["earlier"]}
    held_out.add_to(record, scorer, monitors)
    assert record["eval/accuracy"] == 0.0
    assert record["warnings"][0] == "earlier" and record["warnings"][1].startswith("reward up, eval flat")
    assert held_out.due(5)  # the last step is always evaluated


def test_default_is_off_and_a_file_source_needs_its_own_eval_data(tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate({"model": {"path": "m"}})
    assert cfg.eval.every == 0 and cfg.eval.graders is None
    assert HeldOut.of(cfg, Constant(), None) is None
    data = tmp_path / "train.jsonl"
    data.write_text('{"prompt": "1+1=", "reference": "2"}\n')
    on_file = TrainConfig.model_validate({"model": {"path": "m"}, "data": {"jsonl": str(data)}, "eval": {"every": 1}})
    with pytest.raises(ValueError, match="eval.data"):
        held_out_problems(on_file)
    own = on_file.model_copy(update={"eval": on_file.eval.model_copy(update={"data": on_file.data})})
    assert [p.reference for p in held_out_problems(own)] == ["2"]


def test_a_run_records_eval_accuracy_at_the_configured_steps_and_trains_the_same(
        warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    settings: dict[str, Any] = {"steps": 3, "rollout": {"prompts_per_step": 8, "group_size": 4, "max_new_tokens": 3}}
    plain = train(config(warm_model, reward_url, tmp_path / "plain", **settings))
    evaluated = train(config(warm_model, reward_url, tmp_path / "eval", **settings,
                             eval={"every": 2, "size": 16, "graders": ANSWER}))
    a, b = read_metrics(plain / "metrics.jsonl"), read_metrics(evaluated / "metrics.jsonl")
    assert not any(key.startswith("eval/") for r in a for key in r)  # no eval section: no eval
    assert [r["step"] for r in b if "eval/accuracy" in r] == [2, 3]  # every 2 steps, and at the end
    assert all(0 <= r["eval/accuracy"] <= 1 for r in b if "eval/accuracy" in r)
    # evaluating draws no training randomness: the run itself is unchanged
    for key in ("reward", "loss", "response_length"):
        assert [r[key] for r in b] == pytest.approx([r[key] for r in a], rel=1e-5, abs=1e-7), key
