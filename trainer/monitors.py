"""Reward-hacking monitors: statistics over a sliding window of steps, and warnings when a policy games its reward.

Pure bookkeeping over what the scorer already returns (each grader's scores with their details) and the
completions' lengths; no model, no I/O. Each monitor adds its statistic to the step's metrics record
(`monitor/...`, None while it has too little to say) and, when it fires, a line to the record's `warnings`:

- verbosity: the correlation of reward with response length *within* each GRPO group (the advantage is
  relative to the group, so this is the correlation the update amplifies; across prompts, length differences
  are mostly the task's);
- format leakage: format components carry a large share of the reward and rise while the rest stays flat;
- dominance: one component of the reward (a weighted grader, or a sub-grader of a `multi`) earns most of it;
- rates read from the scores' details: answer spam (the math grader's "several different answers"), judge
  injection blocks (`details.injection`), sandbox guard refusals in a failing test, grader timeouts;
- reward up, eval flat: the window's mean reward rose between two held-out evaluations, their accuracy did not.

A `multi` grader's sub-graders are components with their own reward (the formula's weights are not applied).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rewards.hacking import SIGNS, signs
from trainer.config import MonitorConfig, RewardConfig
from trainer.scoring import BatchRewards, grader_name

RATES = SIGNS


@dataclass(frozen=True)
class Component:
    """One part of the reward: its label, its weight in the total, whether it checks format, where to read it."""

    label: str
    weight: float
    is_format: bool
    grader: int  # index into the reward config's graders
    sub: str | None = None  # a `multi` sub-grader's name


@dataclass
class StepView:
    """What one step contributes to the window."""

    reward: float  # mean total reward
    pairs: list[tuple[float, float]]  # (reward, length) centred on their group's means
    components: dict[str, float]  # weighted mean reward per component
    flagged: dict[str, int]  # samples per rate
    samples: int


def components_of(reward: RewardConfig, monitors: MonitorConfig) -> list[Component]:
    """The reward's components: each weighted grader, a `multi` grader's sub-graders in its place."""
    named = set(monitors.format_components)
    found: list[Component] = []
    for k, w in enumerate(reward.graders):
        label = grader_name(w.grader, k)
        spec = w.grader if isinstance(w.grader, dict) else {}
        subs = spec.get("graders") if spec.get("type") == "multi" else None
        if isinstance(subs, dict):
            for sub, sub_spec in subs.items():
                kind = sub_spec.get("type") if isinstance(sub_spec, dict) else sub_spec
                found.append(Component(f"{label}/{sub}", w.weight, kind == "format" or bool({sub, kind} & named),
                                       k, sub))
        else:
            kind = spec.get("type") if spec else w.grader  # a configured grader's name stands for its type
            found.append(Component(label, w.weight, kind == "format" or bool({label, kind} & named), k))
    return found


def correlation(pairs: list[tuple[float, float]]) -> float | None:
    """Pearson's r, or None when either side has no variance."""
    n = len(pairs)
    mx, my = sum(x for x, _ in pairs) / n, sum(y for _, y in pairs) / n
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    if sxx < 1e-12 or syy < 1e-12:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / math.sqrt(sxx * syy)


def _centred(values: list[float], group: int) -> list[float]:
    out: list[float] = []
    for begin in range(0, len(values), group):
        part = values[begin:begin + group]
        mean = sum(part) / len(part)
        out.extend(v - mean for v in part)
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


@dataclass
class Monitors:
    """Feed it every scored step (`observe`) and every held-out evaluation (`observe_eval`); read stats back."""

    cfg: MonitorConfig
    reward: RewardConfig
    group_size: int
    components: list[Component] = field(init=False)
    window: deque[StepView] = field(init=False)
    evals: list[tuple[float, float]] = field(default_factory=list)  # (window mean reward, eval accuracy)

    def __post_init__(self) -> None:
        self.components = components_of(self.reward, self.cfg)
        self.window = deque(maxlen=self.cfg.window)

    def observe(self, rewards: BatchRewards, lengths: list[float]) -> dict[str, Any]:
        """Add one step; its monitors' statistics, with `warnings` when any fires."""
        self.window.append(self._view(rewards, lengths))
        stats: dict[str, Any] = {}
        warnings: list[str] = []
        for check in (self._verbosity, self._format, self._dominance, self._rates):
            check(stats, warnings)
        return {**stats, "warnings": warnings} if warnings else stats

    def observe_eval(self, accuracy: float) -> dict[str, Any]:
        """Add a held-out accuracy; warns when the window's reward rose since the last eval and accuracy did not."""
        steps = list(self.window)
        reward = _mean([v.reward for v in steps]) if steps else 0.0
        self.evals.append((reward, accuracy))
        if len(self.evals) < 2:
            return {}
        (r0, a0), (r1, a1) = self.evals[-2:]
        stats: dict[str, Any] = {"monitor/reward_rise": r1 - r0, "monitor/eval_rise": a1 - a0}
        if r1 - r0 >= self.cfg.rise and a1 - a0 < self.cfg.flat:
            stats["warnings"] = [f"reward up, eval flat: reward rose by {r1 - r0:.3f} since the last eval, "
                                 f"held-out accuracy by {a1 - a0:+.3f}"]
        return stats

    def _view(self, rewards: BatchRewards, lengths: list[float]) -> StepView:
        n = len(rewards.total)
        pairs = list(zip(_centred(rewards.total, self.group_size), _centred(lengths, self.group_size), strict=True))
        components = {}
        for c in self.components:
            scores = rewards.scores[c.grader]
            values = [s.reward if c.sub is None else float(s.details.get("graders", {}).get(c.sub, {}).get("reward", 0))
                      for s in scores]
            components[c.label] = c.weight * _mean(values)
        per_sample = [set().union(*(signs(scores[i]) for scores in rewards.scores)) for i in range(n)]
        flagged = {rate: sum(rate in f for f in per_sample) for rate in RATES}
        return StepView(_mean(rewards.total), pairs, components, flagged, n)

    def _verbosity(self, stats: dict[str, Any], warnings: list[str]) -> None:
        pairs = [p for view in self.window for p in view.pairs]
        r = correlation(pairs) if len(pairs) >= self.cfg.min_samples else None
        stats["monitor/length_correlation"] = r
        if r is not None and self.cfg.length_correlation is not None and r >= self.cfg.length_correlation:
            warnings.append(f"verbosity: reward correlates with response length within groups (r={r:.2f} over "
                            f"{len(pairs)} samples)")

    def _halves(self, labels: list[str]) -> tuple[float, float]:
        """Mean summed reward of `labels` over the first and the second half of the window."""
        totals = [sum(view.components[label] for label in labels) for view in self.window]
        half = len(totals) // 2
        return _mean(totals[:half]), _mean(totals[half:])

    def _format(self, stats: dict[str, Any], warnings: list[str]) -> None:
        fmt = [c.label for c in self.components if c.is_format]
        rest = [c.label for c in self.components if not c.is_format]
        if not fmt or not rest:
            return
        fmt_sum = sum(view.components[label] for view in self.window for label in fmt)
        total = sum(sum(view.components.values()) for view in self.window)
        share = fmt_sum / total if total > 1e-9 else None
        stats["monitor/format_share"] = share
        if share is None or self.cfg.format_share is None or len(self.window) < self.cfg.window:
            return
        (f0, f1), (a0, a1) = self._halves(fmt), self._halves(rest)
        if share >= self.cfg.format_share and f1 - f0 >= self.cfg.rise and a1 - a0 < self.cfg.flat:
            warnings.append(f"format leakage: format components earn {share:.0%} of the reward and rose by "
                            f"{f1 - f0:.3f} while the rest moved {a1 - a0:+.3f}")

    def _dominance(self, stats: dict[str, Any], warnings: list[str]) -> None:
        if len(self.components) < 2:
            return
        sums = {c.label: abs(sum(view.components[c.label] for view in self.window)) for c in self.components}
        total = sum(sums.values())
        if total < 1e-9:
            stats["monitor/top_component_share"] = None
            return
        top = max(sums, key=lambda label: sums[label])
        share = sums[top] / total
        stats["monitor/top_component_share"] = share
        if self.cfg.dominance is not None and share >= self.cfg.dominance:
            warnings.append(f"dominance: the component {top} earns {share:.0%} of the reward")

    def _rates(self, stats: dict[str, Any], warnings: list[str]) -> None:
        samples = sum(view.samples for view in self.window)
        for rate in RATES:
            value = sum(view.flagged[rate] for view in self.window) / max(samples, 1)
            stats[f"monitor/{rate}_rate"] = value
            limit = getattr(self.cfg, f"{rate}_rate")
            if limit is not None and value > limit:
                warnings.append(f"{rate}: {value:.1%} of the last {samples} samples (limit {limit:.1%})")
