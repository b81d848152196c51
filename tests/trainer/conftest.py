"""Fixtures for trainer tests: a tiny model warm-started on noisy one-digit sums, and a real reward service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.procs import free_port, launch
from trainer.config import ModelConfig, OptimConfig, SFTConfig
from trainer.problems import Problem
from trainer.sft import sft
from trainer.tasks import arithmetic, demonstrations
from trainer.tiny import save_tiny


@pytest.fixture(scope="session")
def warm_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 150k-parameter model SFT'd on one-digit sums where half the answers are wrong: reward has room to rise."""
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("tiny")
    base = save_tiny(root / "base", hidden=64, layers=2, heads=2)
    rows = [Problem(**r) for r in demonstrations(arithmetic(2000, seed=1, digits=1), wrong_fraction=0.5, seed=2)]
    cfg = SFTConfig(model=ModelConfig(path=str(base)), optim=OptimConfig(lr=3e-3, warmup_steps=10, micro_batch=64),
                    batch_size=64, epochs=10, output_dir=str(root / "sft"), seed=0)
    return sft(cfg, rows)


@pytest.fixture(scope="session")
def reward_url() -> Iterator[str]:
    """`rlvr serve` on loopback with one grading worker."""
    with launch(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port()) as url:
        yield url
