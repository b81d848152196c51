"""Run records: one JSON line per step in metrics.jsonl (and to the `report_to` tools), sample completions,
and PNG plots at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer.reporters import ReportTo, open_reporters, scalars

PLOTTED = {"reward": "mean reward", "accuracy": "accuracy", "kl": "KL to reference", "response_length": "tokens"}


class MetricsLog:
    """Appends step records and sample completions under the run directory; step records also go to the
    `report_to` tools (trainer.reporters), which `close` finishes."""

    def __init__(self, out: Path, report_to: list[ReportTo] | None = None, config: dict[str, Any] | None = None
                 ) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.metrics_path = out / "metrics.jsonl"
        self.samples_path = out / "samples.jsonl"
        self.reporters = open_reporters(report_to or [], out, config or {})

    def log(self, record: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        for reporter in self.reporters:
            reporter.log(record["step"], scalars(record))

    def close(self) -> None:
        for reporter in self.reporters:
            reporter.close()

    def log_samples(self, step: int, rows: list[dict[str, Any]]) -> None:
        with self.samples_path.open("a") as f:
            for row in rows:
                f.write(json.dumps({"step": step, **row}) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def plot_metrics(metrics_path: Path, out_dir: Path) -> list[Path]:
    """One PNG per plotted metric present in the log (reward, accuracy, KL, length) against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(metrics_path)
    written = []
    for key, label in PLOTTED.items():
        points = [(r["step"], r[key]) for r in records if r.get(key) is not None]
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(*zip(*points, strict=True), lw=1.5)
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / f"{key}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
