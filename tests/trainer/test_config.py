"""The one config stack: every command reads its config through `load_config` and takes `--set` overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from tests.procs import REPO
from trainer.cli import app
from trainer.config import PRMConfig, RewardModelConfig, SFTConfig, TrainConfig, load_config
from trainer.tiny_heads import STEP_TAG, save_tiny_head

COMMANDS = ("train", "sft", "sample", "train-rm", "train-prm")


def test_overrides_are_parsed_as_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model: {path: m}\nsteps: 5\n")
    cfg = load_config(TrainConfig, path, ["steps=7", "grpo.beta=0.04", "reward.urls=[http://a:1, http://b:2]",
                                          "ppo.epsilon_high=0.28", "model.lora.r=4"])
    assert (cfg.steps, cfg.grpo.beta, cfg.reward.urls) == (7, 0.04, ["http://a:1", "http://b:2"])
    assert cfg.ppo.epsilon_high == 0.28 and cfg.grpo.epsilon_high == 0.2  # PPO's clip range is its own
    assert cfg.model.lora is not None and (cfg.model.lora.r, cfg.model.lora.alpha) == (4, 32)
    with pytest.raises(ValueError):
        load_config(TrainConfig, path, ["grpo.no_such_key=1"])
    with pytest.raises(ValueError, match="key=value"):
        load_config(TrainConfig, path, ["steps"])


def test_learned_reward_configs_load_flat_keys_from_json_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "rm.json"  # JSON is YAML: the files train-rm read before still load
    path.write_text(json.dumps({"model": "m", "output_dir": "o", "data": "d.jsonl", "lora": {"r": 8}}))
    rm = load_config(RewardModelConfig, path, ["margin=0.5", "lora.alpha=4"])
    assert (rm.margin, rm.lora and rm.lora.r, rm.lora and rm.lora.alpha) == (0.5, 8, 4)
    prm = load_config(PRMConfig, None, ["model=m", "output_dir=o", "data=d", "layout=causal"])
    assert prm.layout == "causal" and prm.tag == "<extra_0>"
    with pytest.raises(ValueError):
        load_config(RewardModelConfig, path, ["lora.r=0"])  # one LoRA config, validated the same everywhere


@pytest.mark.parametrize("path", sorted((REPO / "examples" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_load(path: Path) -> None:
    assert load_config(TrainConfig, path).model.path


def test_every_command_takes_set() -> None:
    runner = CliRunner()
    for command in COMMANDS:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--set" in result.output, command


def test_sft_config_from_the_cli_loader(tmp_path: Path) -> None:
    path = tmp_path / "sft.yaml"
    path.write_text(yaml.safe_dump({"model": {"path": "m"}, "optim": {"lr": 0.1}}))
    cfg = load_config(SFTConfig, path, ["optim.micro_batch=8", "epochs=2"])
    assert (cfg.optim.lr, cfg.optim.micro_batch, cfg.epochs) == (0.1, 8, 2.0)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_train_rm_and_train_prm_apply_set(tmp_path: Path, one_thread: None) -> None:
    runner = CliRunner()
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": f"{i}+1=", "chosen": str(i + 1), "rejected": str(i + 2)}) + "\n"
                             for i in range(20)))
    rm_base = save_tiny_head(tmp_path / "rm_base", "reward", chat_template=False, hidden=16, layers=1)
    rm_cfg = tmp_path / "rm.yaml"
    rm_cfg.write_text(yaml.safe_dump({"model": str(rm_base), "output_dir": str(tmp_path / "rm"), "data": str(pairs),
                                      "batch_size": 10, "progress": False}))
    done = runner.invoke(app, ["train-rm", str(rm_cfg), "--set", "epochs=2", "--set", "margin=0.25"])
    assert done.exit_code == 0, done.output
    card = json.loads((tmp_path / "rm" / "rlvr_metrics.json").read_text())
    assert [e["epoch"] for e in card["epochs"]] == [1, 2] and card["config"]["margin"] == 0.25
    assert json.loads(done.stdout.strip().splitlines()[-1])["epoch"] == 2  # the last epoch's metrics

    steps = tmp_path / "steps.jsonl"
    steps.write_text("".join(json.dumps({"prompt": "Add:", "completions": ["1+1=2", "2+2=5"], "labels": [True, False]})
                             + "\n" for _ in range(20)))
    prm_base = save_tiny_head(tmp_path / "prm_base", "token", chat_template=False, hidden=16, layers=1)
    prm_cfg = tmp_path / "prm.yaml"
    prm_cfg.write_text(yaml.safe_dump({"model": str(prm_base), "output_dir": str(tmp_path / "wrong"),
                                       "data": str(steps), "progress": False}))
    done = runner.invoke(app, ["train-prm", str(prm_cfg), "--set", f"output_dir={tmp_path / 'prm'}",
                               "--set", f"tag={STEP_TAG}"])
    assert done.exit_code == 0, done.output
    card = json.loads((tmp_path / "prm" / "rlvr_metrics.json").read_text())
    assert card["config"]["tag"] == STEP_TAG and not (tmp_path / "wrong").exists()
    assert "eval_step_accuracy" in json.loads(done.stdout.strip().splitlines()[-1])
