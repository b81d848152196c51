"""Accuracy of a policy on held-out problems, verified by the reward service: sampled and greedy.

`HeldOut` is the RL loop's periodic evaluation (the `eval` config section): its own problems and its
own graders, so that a hole in the reward's verifier, or a bias of its judge, the policy learns to
exploit does not also blind the measure of progress.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from rewards.types import Sample
from trainer.config import DataConfig, ModelConfig, TrainConfig, WeightedGrader
from trainer.data import format_prompt, load_problems
from trainer.generation import GenerationBackend
from trainer.monitors import Monitors
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


def with_graders(scorer: Scorer, graders: list[WeightedGrader]) -> Scorer:
    """The same backend and event loop grading with other graders: no second service or worker pool.
    Close only the original scorer, never this view."""
    view = copy.copy(scorer)
    view.cfg = scorer.cfg.model_copy(update={"graders": graders})
    return view


def held_out_problems(cfg: TrainConfig) -> list[Problem]:
    """The `eval` problems: its own data source, or else the training task drawn with the eval seed."""
    if cfg.eval.data is not None:
        return load_problems(cfg.eval.data, seed=cfg.eval.seed)[:cfg.eval.size]
    if cfg.data.task is None:
        raise ValueError("eval.data is required when the training data is a file or dataset (eval.every > 0)")
    source = DataConfig(task=cfg.data.task, task_args=cfg.data.task_args, size=cfg.eval.size)
    return load_problems(source, seed=cfg.eval.seed)


class HeldOut:
    """The periodic held-out evaluation of a run: when it is due, and what it adds to a step's record."""

    def __init__(self, cfg: TrainConfig, backend: GenerationBackend, tokenizer: Any) -> None:
        self.cfg, self.backend, self.tokenizer = cfg, backend, tokenizer
        self.problems = held_out_problems(cfg)

    @classmethod
    def of(cls, cfg: TrainConfig, backend: GenerationBackend, tokenizer: Any) -> HeldOut | None:
        """The run's evaluation, or None when `eval.every` is 0; a missing eval source fails here, at setup."""
        return cls(cfg, backend, tokenizer) if cfg.eval.every else None

    def due(self, step: int) -> bool:
        """Every `eval.every` steps (as metrics.jsonl numbers them), and at the last."""
        return step % self.cfg.eval.every == 0 or step == self.cfg.steps

    def measure(self, scorer: Scorer) -> dict[str, float]:
        """Greedy accuracy (and sampled, when `eval.samples`), under a forked RNG: evaluating leaves the
        training's random draws, hence its trajectory and an exact resume, untouched."""
        run = self.cfg
        threshold = run.reward.success_threshold
        if run.eval.graders is not None:
            scorer = with_graders(scorer, run.eval.graders)
        with torch.random.fork_rng(devices=[]):
            stats = {"eval/accuracy": accuracy(self.backend, scorer, self.tokenizer, run.model, self.problems,
                                               greedy=True, threshold=threshold)}
            if run.eval.samples:
                stats["eval/accuracy_sampled"] = accuracy(self.backend, scorer, self.tokenizer, run.model,
                                                          self.problems, samples=run.eval.samples,
                                                          threshold=threshold)
        return stats

    def add_to(self, record: dict[str, Any], scorer: Scorer, monitors: Monitors | None) -> None:
        """When due at `record["step"]`: the eval's accuracies, and the reward-up/eval-flat monitor's stats
        and warnings, join the record."""
        if not self.due(record["step"]):
            return
        stats = self.measure(scorer)
        record.update(stats)
        if monitors is not None:
            found = monitors.observe_eval(stats["eval/accuracy"])
            warnings = record.get("warnings", []) + found.pop("warnings", [])
            record.update(found, **({"warnings": warnings} if warnings else {}))
