"""Toy data the model tests train on: arithmetic whose correctness a tiny model can learn."""

from __future__ import annotations

import json
import random
from pathlib import Path


def sum_pair(rng: random.Random, top: int = 4) -> tuple[str, str, str]:
    """(prompt, right answer, wrong answer) for a + b with single digits."""
    a, b = rng.randint(0, top), rng.randint(0, top)
    wrong = a + b + rng.choice([-3, -2, -1, 1, 2, 3])
    return f"{a}+{b}=", str(a + b), str(wrong)


def write_pairs(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    with path.open("w") as f:
        for _ in range(n):
            prompt, right, wrong = sum_pair(rng)
            f.write(json.dumps({"prompt": prompt, "chosen": right, "rejected": wrong}) + "\n")
    return path


def step(rng: random.Random, good: bool, top: int = 2) -> str:
    prompt, right, wrong = sum_pair(rng, top)
    return prompt + (right if good else wrong)


def write_steps(path: Path, n: int, seed: int) -> Path:
    """Solutions of 1-3 steps, each step a sum that is right or wrong, labelled per step (TRL's format)."""
    rng = random.Random(seed)
    with path.open("w") as f:
        for _ in range(n):
            labels = [rng.random() < 0.6 for _ in range(rng.randint(1, 3))]
            row = {"prompt": "Add:", "completions": [step(rng, good) for good in labels], "labels": labels}
            f.write(json.dumps(row) + "\n")
    return path
