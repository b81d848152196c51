"""End-to-end training against the real reward service: reward rises, resume is exact, SFT and sampling work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tests.procs import REPO, free_port
from trainer.config import TrainConfig
from trainer.metrics import read_metrics
from trainer.train import train

pytestmark = pytest.mark.timeout(900)  # training on a shared 2-core machine can be slow; never timed


def config(model: Path, url: str, out: Path, **overrides) -> TrainConfig:
    base = {
        "model": {"path": str(model)},
        "data": {"task": "arithmetic", "task_args": {"digits": 1}, "size": 200},
        "rollout": {"prompts_per_step": 16, "group_size": 8, "max_new_tokens": 3},
        "reward": {"urls": [url], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "optim": {"lr": 1e-3, "micro_batch": 128},
        "steps": 30, "output_dir": str(out), "log_samples_every": 10, "torch_threads": 2,
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return TrainConfig.model_validate(base)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_grpo_reward_rises_on_an_easy_task(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    out = train(config(warm_model, reward_url, tmp_path / "grpo"))
    records = read_metrics(out / "metrics.jsonl")
    rewards = [r["reward"] for r in records]
    assert len(records) == 30
    assert mean(rewards[-8:]) > mean(rewards[:8]) + 0.1, rewards
    assert all(r["policy_lag"] == 1 for r in records[1:])  # scoring overlapped the next generation
    assert {"reward.png", "accuracy.png", "response_length.png"} <= {p.name for p in out.iterdir()}
    assert (out / "final" / "config.json").exists()
    assert len((out / "samples.jsonl").read_text().splitlines()) >= 3


def test_ppo_runs_and_learns_a_value(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    out = train(config(warm_model, reward_url, tmp_path / "ppo", algorithm="ppo", steps=12,
                       ppo={"kl_coef": 0.05}, optim={"lr": 1e-3, "value_lr": 1e-2, "micro_batch": 64}))
    records = read_metrics(out / "metrics.jsonl")
    assert len(records) == 12
    assert all(r["kl"] is not None and abs(r["kl"]) < 1.0 for r in records)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records)


def test_resume_gives_the_same_next_steps(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    settings = {"steps": 4, "grpo": {"beta": 0.05}}
    whole = train(config(warm_model, reward_url, tmp_path / "whole", **settings))
    part = config(warm_model, reward_url, tmp_path / "part", stop_after=2, **settings)
    train(part)
    assert (tmp_path / "part" / "latest").read_text() == "checkpoint-2"
    resumed = train(part.model_copy(update={"stop_after": None}), resume=True)
    a, b = read_metrics(whole / "metrics.jsonl"), read_metrics(resumed / "metrics.jsonl")
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    for key in ("reward", "loss", "kl", "response_length"):
        assert [r[key] for r in b[2:]] == pytest.approx([r[key] for r in a[2:]], rel=1e-5, abs=1e-7), key
    wa, wb = load_file(whole / "final" / "model.safetensors"), load_file(resumed / "final" / "model.safetensors")
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


def test_reward_service_down_drops_batches_instead_of_training_on_zeros(warm_model: Path, tmp_path: Path) -> None:
    cfg = config(warm_model, "http://127.0.0.1:9", tmp_path / "down", steps=2,
                 reward={"urls": ["http://127.0.0.1:9"], "retries": 1, "timeout_s": 2})
    out = train(cfg)
    assert read_metrics(out / "metrics.jsonl") == []  # nothing was trained on
    before = load_file(Path(warm_model) / "model.safetensors")
    after = load_file(out / "final" / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_samples_are_logged_as_json(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    cfg = config(warm_model, reward_url, tmp_path / "log", steps=2, log_samples_every=1)
    out = train(cfg)
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert {"step", "prompt", "reference", "completion", "reward", "version"} <= set(rows[0])
    assert rows[0]["reference"] is not None and rows[0]["version"] is not None
    # the stored rollouts re-grade as they were: `rlvr rescore-run` on the run's own config finds no change
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    done = subprocess.run([sys.executable, "-m", "rlvr", "rescore-run", str(path), "--workers", "1",
                           "--fail-on-change"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{len(rows)} records: same {len(rows)}," in done.stdout


def test_two_process_data_parallel_on_gloo(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    cfg = config(warm_model, reward_url, tmp_path / "ddp", steps=3, save_every=3, torch_threads=1)
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(free_port()), "-m", "rlvr", "train", str(path), "--set", "optim.lr=1e-3"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_metrics(tmp_path / "ddp" / "metrics.jsonl")
    assert [r["processes"] for r in records] == [2, 2, 2]
    assert records[-1]["lr"] < 1e-3  # the override reached both processes' schedule
    assert {p.name for p in (tmp_path / "ddp" / "checkpoint-3").glob("rank*.pt")} == {"rank0.pt", "rank1.pt"}


def test_rejection_sampling_keeps_only_verified_completions(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    from trainer.config import SampleConfig
    from trainer.sample import rejection_sample
    from trainer.tasks import arithmetic

    cfg = SampleConfig.model_validate({
        "model": {"path": str(warm_model)}, "data": {"task": "arithmetic", "task_args": {"digits": 1}, "size": 40},
        "rollout": {"group_size": 8, "max_new_tokens": 3},
        "reward": {"urls": [reward_url], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "output": str(tmp_path / "kept.jsonl"),
    })
    counts = rejection_sample(cfg)
    rows = [json.loads(line) for line in (tmp_path / "kept.jsonl").read_text().splitlines()]
    answers = {p.prompt: p.reference for p in arithmetic(40, seed=0, digits=1)}
    assert counts["generated"] == 320 and counts["kept"] == len(rows) > 0
    assert all(int(r["response"]) == int(answers[r["prompt"]]) for r in rows)  # checked independently
    assert len({(r["prompt"], r["response"]) for r in rows}) == len(rows)

