"""Reward-hacking monitors: each fires on a situation built to trigger it and stays quiet on a neutral one."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import pytest

from rewards.graders.math import MathSpec
from rewards.graders.math import score as math_score
from rewards.types import Sample, Score
from tests.trainer.test_train import config
from trainer.config import MonitorConfig, RewardConfig
from trainer.metrics import read_metrics
from trainer.monitors import Monitors
from trainer.scoring import combine
from trainer.train import train

G = 8
MATH_AND_FORMAT = RewardConfig(graders=[{"grader": "math"},
                                        {"grader": {"type": "format", "checks": [{"type": "boxed"}]}}])


def monitors(reward: RewardConfig | None = None, **settings: Any) -> Monitors:
    return Monitors(MonitorConfig(window=10, **settings), reward or RewardConfig(), G)


def feed(mon: Monitors, columns: list[list[Score]], lengths: list[float]) -> dict[str, Any]:
    """One step of `columns` (one list of scores per configured grader)."""
    return mon.observe(combine(mon.reward, columns), lengths)


def rewarded(values: list[float]) -> list[Score]:
    return [Score(reward=v) for v in values]


def warned(stats: dict[str, Any], kind: str) -> bool:
    return any(w.startswith(kind) for w in stats.get("warnings", []))


def test_a_reward_that_pays_for_length_is_verbosity() -> None:
    rng, mon = random.Random(0), monitors()
    for _ in range(10):
        lengths = [float(rng.randint(5, 60)) for _ in range(4 * G)]
        stats = feed(mon, [rewarded([float(n > 30) for n in lengths])], lengths)
    assert stats["monitor/length_correlation"] > 0.7
    assert warned(stats, "verbosity")


def test_rewards_independent_of_length_are_quiet() -> None:
    rng, mon = random.Random(1), monitors()
    for _ in range(10):
        lengths = [float(rng.randint(5, 60)) for _ in range(4 * G)]
        stats = feed(mon, [rewarded([float(rng.random() < 0.5) for _ in lengths])], lengths)
    assert abs(stats["monitor/length_correlation"]) < 0.2
    assert "warnings" not in stats


def test_length_correlation_waits_for_samples_and_variance() -> None:
    mon = monitors(min_samples=64)
    stats = feed(mon, [rewarded([1.0] * G)], [float(n) for n in range(G)])  # 8 samples, no reward variance
    assert stats["monitor/length_correlation"] is None
    mon = monitors(min_samples=8)
    assert feed(mon, [rewarded([1.0] * G)], [float(n) for n in range(G)])["monitor/length_correlation"] is None


def rising_format(accuracy_rises: bool) -> dict[str, Any]:
    """Ten steps: the format grader's reward climbs from 0.1 to 1; accuracy stays at 1/8 or climbs too."""
    mon = monitors(MATH_AND_FORMAT)
    stats: dict[str, Any] = {}
    for step in range(10):
        correct = 1 + (step * 6 // 9 if accuracy_rises else 0)
        formatted = 1 + step * 7 // 9
        stats = feed(mon, [rewarded([1.0] * correct + [0.0] * (G - correct)),
                           rewarded([1.0] * formatted + [0.0] * (G - formatted))], [3.0] * G)
    return stats


def test_format_reward_rising_while_accuracy_is_flat_is_format_leakage() -> None:
    stats = rising_format(accuracy_rises=False)
    assert stats["monitor/format_share"] > 0.5
    assert warned(stats, "format leakage")


def test_format_rising_with_accuracy_is_quiet() -> None:
    stats = rising_format(accuracy_rises=True)
    assert not warned(stats, "format leakage")
    assert "warnings" not in stats


def test_one_component_earning_everything_dominates() -> None:
    mon = monitors(MATH_AND_FORMAT)
    stats = feed(mon, [rewarded([0.0] * G), rewarded([1.0] * G)], [3.0] * G)
    assert stats["monitor/top_component_share"] == 1.0
    assert warned(stats, "dominance: the component format1")
    balanced = monitors(MATH_AND_FORMAT)
    stats = feed(balanced, [rewarded([1.0, 0.0] * (G // 2)), rewarded([0.0, 1.0] * (G // 2))], [3.0] * G)
    assert stats["monitor/top_component_share"] == 0.5
    assert "warnings" not in stats


def multi_score(acc: float, fmt: float, **acc_details: Any) -> Score:
    subs = {"acc": Score(reward=acc, details=acc_details).model_dump(), "fmt": Score(reward=fmt).model_dump()}
    return Score(reward=0.5 * acc + 0.5 * fmt, details={"graders": subs})


def test_a_multi_graders_sub_grader_can_dominate() -> None:
    multi = {"type": "multi", "formula": "0.5*acc + 0.5*fmt",
             "graders": {"acc": {"type": "math"}, "fmt": {"type": "format", "checks": [{"type": "boxed"}]}}}
    mon = monitors(RewardConfig(graders=[{"grader": multi}]))
    assert [(c.label, c.is_format) for c in mon.components] == [("multi/acc", False), ("multi/fmt", True)]
    stats = feed(mon, [[multi_score(0.0, 1.0)] * G], [3.0] * G)
    assert warned(stats, "dominance: the component multi/fmt")


def math_scores(completions: list[str]) -> list[Score]:
    """The real math grader's scores, reference 7."""
    return [math_score(MathSpec(), Sample(completion=c, reference="7")) for c in completions]


def test_answer_spam_injection_harness_and_timeouts_are_counted_from_details() -> None:
    spam = math_scores([r"The answer is \boxed{7} or \boxed{8}."] * 2 + [r"\boxed{7}"] * 6)
    assert spam[0].details["reason"] == "several different answers"  # what the monitor reads
    injected = multi_score(0.0, 1.0, injection={"rule": "verdict", "matched": "[[A]]"})
    guard = {"passed": 0, "total": 1, "first_failure": {
        "index": 0, "status": "runtime_error", "reason": "exit status 1",
        "stderr_tail": "sandbox.errors.SandboxRefusal: sandbox: the attribute f_globals is not available to "
                       "programs under script or call tests"}}
    others = [injected, Score(reward=0.0, details=guard), Score.timed_out(5.0), Score.timed_out(5.0)] + rewarded(
        [1.0] * 4)
    mon = monitors(RewardConfig(graders=[{"grader": "math"}, {"grader": "other"}]))
    stats = feed(mon, [spam, others], [3.0] * G)
    assert (stats["monitor/spam_rate"], stats["monitor/injection_rate"], stats["monitor/harness_rate"],
            stats["monitor/timeout_rate"]) == (0.25, 0.125, 0.125, 0.25)
    assert all(warned(stats, kind) for kind in ("spam", "injection", "harness", "timeout"))


def test_plain_right_and_wrong_answers_raise_no_rate() -> None:
    mon = monitors()
    stats = feed(mon, [math_scores([r"\boxed{7}", r"\boxed{8}", "7", "no idea"] * 2)], [3.0] * G)
    assert all(stats[f"monitor/{k}_rate"] == 0 for k in ("spam", "injection", "harness", "timeout"))
    assert "warnings" not in stats


def reward_then_eval(rewards: list[float], accuracies: list[float]) -> dict[str, Any]:
    mon, stats = monitors(), {}
    for reward, accuracy in zip(rewards, accuracies, strict=True):
        for _ in range(10):
            feed(mon, [rewarded([reward] * G)], [3.0] * G)
        stats = mon.observe_eval(accuracy)
    return stats


def test_reward_up_with_eval_flat_warns() -> None:
    stats = reward_then_eval([0.2, 0.6], [0.30, 0.30])
    assert stats["monitor/reward_rise"] > 0.3
    assert warned(stats, "reward up, eval flat")


def test_reward_up_with_eval_up_is_quiet() -> None:
    assert "warnings" not in reward_then_eval([0.2, 0.6], [0.30, 0.50])
    assert reward_then_eval([0.2], [0.3]) == {}  # one eval: nothing to compare yet


def test_thresholds_of_null_turn_a_monitor_off() -> None:
    mon = monitors(MATH_AND_FORMAT, dominance=None)
    assert "warnings" not in feed(mon, [rewarded([0.0] * G), rewarded([1.0] * G)], [3.0] * G)


def test_config_has_a_monitors_section(tmp_path: Path) -> None:
    from trainer.config import TrainConfig, load_config

    cfg = load_config(TrainConfig, None, ["model.path=x", "monitors.window=8", "monitors.dominance=null"])
    assert cfg.monitors.window == 8 and cfg.monitors.dominance is None and cfg.monitors.enabled


@pytest.mark.timeout(900)  # the shared warm-up SFT (session fixture) on a loaded 2-core machine; the run is ~20 s
def test_a_short_run_on_the_demo_task_records_the_stats_and_warns_of_nothing(
        warm_model: Path, reward_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The demo's situation (the arithmetic task, a warm-started tiny policy, the math grader through a real
    service, GRPO) with a held-out eval every 3 steps, so that every monitor, reward-up/eval-flat included,
    has its statistic: all of them measured, none fires, nothing is logged as a warning."""
    with caplog.at_level(logging.WARNING, logger="rlvr.trainer"):
        out = train(config(warm_model, reward_url, tmp_path / "run", steps=6, log_samples_every=0, plots=False,
                           eval={"every": 3, "size": 64}))
    records = read_metrics(out / "metrics.jsonl")
    assert len(records) == 6
    assert all(r["monitor/length_correlation"] is not None for r in records)  # 128 samples a step: enough
    assert all(r[f"monitor/{k}_rate"] == 0 for r in records for k in ("spam", "injection", "harness", "timeout"))
    assert [r["step"] for r in records if "eval/accuracy" in r] == [3, 6]
    assert "monitor/reward_rise" in records[5] and "monitor/eval_rise" in records[5]  # the second eval compares
    assert not any("warnings" in r for r in records)
    assert not [r.getMessage() for r in caplog.records if r.name == "rlvr.trainer" and r.levelno >= logging.WARNING]
