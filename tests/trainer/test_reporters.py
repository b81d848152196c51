"""`report_to`: the step metrics reach TensorBoard, wandb (offline) and MLflow (file store), read back with each
tool's own reader; a missing library is refused when the config loads."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from trainer import reporters
from trainer.config import TrainConfig
from trainer.metrics import MetricsLog, read_metrics
from trainer.train import train

from .test_train import config

pytestmark = pytest.mark.timeout(900)

RECORDS = [{"step": s, "reward": 0.25 * s, "reward/math": 0.5 / s, "kl": None, "processes": 1, "warnings": ["w"],
            "loss": float("nan")} for s in (1, 2, 3)]


def tensorboard_scalars(out: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def wandb_history(out: Path) -> list[dict[str, Any]]:
    """The history rows of the offline run's transaction log (`run-<id>.wandb`: 32 KiB blocks of records, each
    behind a 7-byte header: crc32, length, type full/first/middle/last; the file starts with a 7-byte header)."""
    from wandb.proto import wandb_internal_pb2

    [path] = (out / "wandb").glob("offline-run-*/run-*.wandb")
    data, block, pos, pending, rows = path.read_bytes(), 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # too little left in the block for a header: padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pending, pos = pending + data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # full, or last part of a record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            if record.HasField("history"):
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
    return rows


def mlflow_history(out: Path, key: str) -> list[tuple[int, float]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
    [run] = client.search_runs([client.get_experiment_by_name("rlvr").experiment_id])
    return [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]


def test_each_tool_receives_the_numeric_metrics_of_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    log = MetricsLog(tmp_path, ["tensorboard", "wandb", "mlflow"], {"optim": {"lr": 0.001}, "steps": 3})
    for record in RECORDS:
        log.log(record)
    log.close()
    expected = {"reward": [(1, 0.25), (2, 0.5), (3, 0.75)], "reward/math": [(1, 0.5), (2, 0.25), (3, 0.5 / 3)],
                "processes": [(1, 1.0), (2, 1.0), (3, 1.0)]}  # no kl (null), warnings (a list) or loss (nan)

    board = tensorboard_scalars(tmp_path)
    assert set(board) == set(expected)
    for key, points in expected.items():
        assert [(s, pytest.approx(v)) for s, v in points] == board[key]

    history = wandb_history(tmp_path)
    assert [row["_step"] for row in history] == [1, 2, 3]
    for key, points in expected.items():
        assert [(row["_step"], row[key]) for row in history] == points
    assert not {"kl", "warnings", "loss"} & {k for row in history for k in row}

    for key, points in expected.items():  # `reward/math` as `reward.math`
        assert mlflow_history(tmp_path, key.replace("/", ".")) == points
    assert mlflow_history(tmp_path, "kl") == []
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 3  # metrics.jsonl keeps everything, as before


def test_a_missing_library_is_refused_when_the_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(reporters.MODULES, "wandb", "wandb_is_not_installed_here")
    with pytest.raises(ValidationError, match=r"report_to: wandb is not installed \(pip install 'rlvr\[report\]'"):
        TrainConfig.model_validate({"model": {"path": "m"}, "report_to": ["tensorboard", "wandb"]})
    with pytest.raises(ValidationError, match="report_to"):
        TrainConfig.model_validate({"model": {"path": "m"}, "report_to": ["comet"]})


def test_a_training_run_reports_what_metrics_jsonl_records(warm_model: Path, reward_url: str, tmp_path: Path) -> None:
    out = train(config(warm_model, reward_url, tmp_path / "run", steps=3, report_to=["tensorboard"]))
    records = read_metrics(out / "metrics.jsonl")
    board = tensorboard_scalars(out)
    for key in ("reward", "accuracy", "entropy", "grad_norm", "lr"):
        assert board[key] == [(r["step"], pytest.approx(r[key])) for r in records], key
