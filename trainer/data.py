"""Prompts with references: from a procedural task, a JSONL file or a `datasets` dataset; prompt formatting."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from trainer.config import DataConfig, ModelConfig
from trainer.problems import Problem
from trainer.tasks import TASKS


def _from_rows(rows: list[dict[str, Any]], cfg: DataConfig) -> list[Problem]:
    problems = []
    for i, row in enumerate(rows):
        if cfg.prompt_field not in row:
            raise ValueError(f"row {i} has no {cfg.prompt_field!r} field (keys: {sorted(row)})")
        problems.append(Problem(
            prompt=row[cfg.prompt_field], reference=row.get(cfg.reference_field),
            response=row.get(cfg.response_field), metadata=row.get("metadata") or {},
        ))
    return problems


def load_problems(cfg: DataConfig, seed: int = 0) -> list[Problem]:
    """The configured source, validated: exactly one of task, jsonl, dataset."""
    sources = [s for s in (cfg.task, cfg.jsonl, cfg.dataset) if s]
    if len(sources) != 1:
        raise ValueError("data: set exactly one of task, jsonl, dataset")
    if cfg.task:
        return TASKS[cfg.task](cfg.size, seed=seed, **cfg.task_args)
    if cfg.jsonl:
        lines = Path(cfg.jsonl).read_text().splitlines()
        return _from_rows([json.loads(line) for line in lines if line.strip()], cfg)
    import datasets

    return _from_rows(list(datasets.load_dataset(cfg.dataset, split=cfg.split)), cfg)


def batch_for_step(problems: list[Problem], step: int, size: int, seed: int, rank: int = 0) -> list[Problem]:
    """The prompts of one step: a deterministic function of (seed, step, rank), so resume replays exactly."""
    rng = random.Random(f"{seed}/{step}/{rank}")
    return rng.sample(problems, min(size, len(problems)))


def format_prompt(tokenizer: Any, prompt: str, cfg: ModelConfig) -> str:
    """The text fed to the model: the raw prompt, or the tokenizer's chat template around it."""
    if cfg.template == "plain":
        return prompt
    messages = ([{"role": "system", "content": cfg.system}] if cfg.system else []) + [
        {"role": "user", "content": prompt}
    ]
    text: str = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text
