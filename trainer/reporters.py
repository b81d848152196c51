"""Step metrics to the tools users watch runs in (`report_to`): TensorBoard, Weights & Biases, MLflow.

Each writes under the run directory and needs no network by default: TensorBoard event files in
`tensorboard/`, a wandb run in offline mode in `wandb/` (`wandb sync` uploads it later; `WANDB_MODE=online`
logs live), an MLflow file store in `mlruns/` (`MLFLOW_TRACKING_URI` names another store). They receive the
numeric values of each `metrics.jsonl` record, `step` as the step; MLflow's keys have `.` for `/`.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

ReportTo = Literal["tensorboard", "wandb", "mlflow"]
MODULES: dict[ReportTo, str] = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}
EXTRA = "pip install 'rlvr[report]'"


def check_installed(names: list[ReportTo]) -> list[ReportTo]:
    """`names` unchanged, or a ValueError naming the missing library and the extra that installs it."""
    missing = [name for name in names if importlib.util.find_spec(MODULES[name]) is None]
    if missing:
        raise ValueError(f"report_to: {', '.join(missing)} is not installed ({EXTRA}, or pip install "
                         f"{' '.join(MODULES[m] for m in missing)})")
    return names


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The record's finite numbers, without `step`; lists, strings, nulls and flags are left out."""
    return {key: float(value) for key, value in record.items()
            if key != "step" and isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value)}


class Reporter(Protocol):
    def log(self, step: int, values: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class TensorBoard:
    def __init__(self, out: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(out / "tensorboard"))

    def log(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


class WandB:
    def __init__(self, out: Path, config: dict[str, Any]) -> None:
        import wandb

        mode: Any = os.environ.get("WANDB_MODE", "offline")  # wandb checks the value
        self.run = wandb.init(dir=str(out), project=os.environ.get("WANDB_PROJECT", "rlvr"), name=out.name,
                              config=config, mode=mode)

    def log(self, step: int, values: dict[str, float]) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


class MLflow:
    def __init__(self, out: Path, config: dict[str, Any]) -> None:
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if uri is None:  # MLflow 3 keeps the file store, in maintenance mode, behind this opt-in
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = (out / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "rlvr")
        experiment = self.client.get_experiment_by_name(name)
        self.run_id = self.client.create_run(experiment.experiment_id if experiment else
                                             self.client.create_experiment(name), run_name=out.name).info.run_id
        for key, value in flatten(config).items():
            self.client.log_param(self.run_id, key, value)

    def log(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)  # `reward/math` as `reward.math`: the file store's `reward` is a file already
        self.client.log_batch(self.run_id, metrics=[Metric(key.replace("/", "."), value, now, step)
                                                    for key, value in values.items()])

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config as `section.key` -> its value as text (MLflow params are flat strings)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)[:6000]  # MLflow's limit on a param's value
    return flat


def open_reporters(names: list[ReportTo], out: Path, config: dict[str, Any]) -> list[Reporter]:
    """One reporter per name, writing under `out`; `config` (the run's) is recorded where the tool keeps one."""
    makers: dict[ReportTo, Callable[[], Reporter]] = {"tensorboard": lambda: TensorBoard(out), "wandb": lambda: WandB(out, config),
              "mlflow": lambda: MLflow(out, config)}
    return [makers[name]() for name in check_installed(names)]
