"""Accuracy of a policy on held-out problems, verified by the reward service: sampled and greedy."""

from __future__ import annotations

from typing import Any

import torch

from rewards.types import Sample
from trainer.config import ModelConfig
from trainer.data import format_prompt
from trainer.generation import GenerationBackend
from trainer.problems import Problem
from trainer.scoring import Scorer


def accuracy(backend: GenerationBackend, scorer: Scorer, tokenizer: Any, model_cfg: ModelConfig, problems: list[Problem],
             samples: int = 4, greedy: bool = False, batch: int = 100, threshold: float = 1.0) -> float:
    """Fraction of completions the graders accept: over `samples` per problem, or the greedy one."""
    n = 1 if greedy else samples
    correct = total = 0
    for begin in range(0, len(problems), batch):
        chunk = problems[begin: begin + batch]
        prompts = [format_prompt(tokenizer, p.prompt, model_cfg) for p in chunk]
        with torch.no_grad():
            rollouts = backend.generate(prompts, n, greedy=greedy)
        items = [Sample(prompt=p.prompt, completion=text, reference=p.reference)
                 for p, text in zip((p for p in chunk for _ in range(n)), rollouts.texts, strict=True)]
        rewards = scorer.score(items)
        if rewards is None:
            raise RuntimeError("the reward service did not answer; accuracy unknown")
        correct += sum(r >= threshold for r, ok in zip(rewards.total, rewards.valid, strict=True) if ok)
        total += sum(rewards.valid)
    return correct / max(total, 1)
