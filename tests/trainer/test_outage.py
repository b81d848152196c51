"""Training across faults of the reward service: a restart costs no step and no made-up reward; a dropped
batch does not advance the learning-rate schedule; warnings name steps as metrics.jsonl does."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch

from rewards.service import RewardService
from rewards.settings import Settings
from tests.procs import free_port, kill_group, start_detached
from tests.trainer.test_train import config
from trainer.metrics import read_metrics
from trainer.scoring import Scorer
from trainer.train import train

pytestmark = pytest.mark.timeout(900)


def start_service(port: int, log: Path) -> subprocess.Popen:
    """`rlvr serve` on `port` (its sandbox URL a dead port: no code is graded here), returned once healthy."""
    return start_detached(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], port, log)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every (step, samples, rewards) that reached the trainer."""
    seen: list = []
    original = Scorer._score

    async def recording(self, samples, step):
        rewards = await original(self, samples, step)
        seen.append((step, samples, rewards))
        return rewards

    monkeypatch.setattr(Scorer, "_score", recording)
    return seen


async def regrade(samples) -> list[float]:
    """The rewards a fault-free in-process service gives."""
    service = RewardService(Settings(workers=1))
    await service.start()
    try:
        return [s.reward for s in await service.score_batch({"type": "math", "timeout_s": 30}, samples)]
    finally:
        await service.close()


def test_a_reward_service_restart_costs_no_step_and_no_made_up_reward(warm_model: Path, tmp_path: Path,
                                                                        recorded: list) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    procs = [start_service(port, log)]
    out = tmp_path / "run"
    outage: dict[str, float] = {}

    def kill_and_restart() -> None:
        metrics = out / "metrics.jsonl"
        while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
            time.sleep(0.05)
        outage["start"] = time.monotonic()
        kill_group(procs[0])
        time.sleep(3)
        procs.append(start_service(port, log))
        outage["end"] = time.monotonic()

    chaos = threading.Thread(target=kill_and_restart)
    chaos.start()
    try:
        cfg = config(warm_model, url, out, steps=6, log_samples_every=0, plots=False,
                     reward={"urls": [url], "retry_budget_s": 60, "timeout_s": 30})
        train(cfg)
        chaos.join()
    finally:
        for proc in procs:
            kill_group(proc)
    assert outage["end"] - outage["start"] > 3  # the service really was gone for a while
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]  # no step lost
    assert all(r["invalid"] == 0 for r in records)
    used = [(step, samples, rewards) for step, samples, rewards in recorded if step <= 6]
    assert len(used) == 6 and all(rewards is not None for _, _, rewards in used)
    seen = [reward for _, _, rewards in used for reward in rewards.total]
    fault_free = asyncio.run(regrade([sample for _, samples, _ in used for sample in samples]))
    assert seen == fault_free  # every reward the trainer saw is the one a fault-free service gives
    assert any(0 < sum(rewards.total) < len(rewards.total) for _, _, rewards in used)  # rewards vary: a real check


def test_a_dropped_batch_does_not_advance_the_schedule(warm_model: Path, tmp_path: Path, monkeypatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from transformers import get_cosine_schedule_with_warmup

    original = Scorer._score

    async def drop_step_2(self, samples, step):
        if step == 2:
            logging.getLogger("rlvr.trainer").warning("step %d: reward scoring failed, dropping", step)
            return None
        return await original(self, samples, step)

    monkeypatch.setattr(Scorer, "_score", drop_step_2)
    lr, steps = 1e-3, 5
    cfg = config(warm_model, "", tmp_path / "drop", steps=steps, log_samples_every=0, plots=False,
                 reward={"urls": [], "workers": 1}, optim={"lr": lr, "micro_batch": 128})
    with caplog.at_level(logging.WARNING, logger="rlvr.trainer"):
        train(cfg)
    records = read_metrics(tmp_path / "drop" / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 3, 4, 5]
    assert "step 2: rewards unavailable, batch dropped" in caplog.text  # the step metrics.jsonl skips
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    schedule = get_cosine_schedule_with_warmup(optimizer, 0, steps)
    expected = []
    for _ in records:  # one schedule step per applied update, none for the dropped batch
        optimizer.step()
        schedule.step()
        expected.append(schedule.get_last_lr()[0])
    assert [r["lr"] for r in records] == pytest.approx(expected)
