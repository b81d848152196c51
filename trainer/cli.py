"""Entry points behind `rlvr train`, `rlvr sft` and `rlvr sample` (registered in rewards/cli.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trainer.config import SampleConfig, SFTConfig, TrainConfig, load_config


def train_main(config: Path, overrides: list[str], resume: bool) -> None:
    from trainer.train import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    out = train(load_config(TrainConfig, config, overrides), resume=resume)
    print(f"done: {out}")


def sft_main(config: Path, overrides: list[str]) -> None:
    from trainer.sft import sft

    print(f"saved: {sft(load_config(SFTConfig, config, overrides))}")


def sample_main(config: Path, overrides: list[str]) -> None:
    from trainer.sample import rejection_sample

    print(json.dumps(rejection_sample(load_config(SampleConfig, config, overrides))))
