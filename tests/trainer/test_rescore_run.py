"""`rlvr rescore-run CONFIG`: a run's stored rollouts re-graded by the weighted graders its trainer config names
(or its eval graders), summed as the trainer sums them, through the one `rlvr rescore` implementation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from rewards.graders.math import MathGrader
from tests.procs import REPO

MATH = {"type": "math", "timeout_s": 30}  # a generous budget: a timeout on a loaded machine would be a change
BOXED = {"type": "format", "checks": [{"kind": "regex", "pattern": r"\\boxed\{"}]}  # pays for \boxed{


def row(completion: str, reference: str, reward: float, version: str) -> dict[str, Any]:
    """A line as the trainer writes samples.jsonl."""
    return {"step": 10, "prompt": f"What is {reference}?", "reference": reference, "completion": completion,
            "reward": reward, "version": version}


def run_dir(tmp_path: Path, rows: list[dict[str, Any]], **config: Any) -> Path:
    """A trainer config whose output_dir holds `rows` as its samples.jsonl; the config's path."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"model": {"path": "never-loaded"}, "output_dir": str(out), **config}))
    return path


def rescore_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlvr", "rescore-run", *args, "--workers", "1"], cwd=REPO,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "400"})  # typer's error box: one line per message


WEIGHTED = {"graders": [{"grader": MATH}, {"grader": BOXED, "weight": 0.5}]}
BOTH = f"math@{MathGrader.version}+format1@1"


def test_the_weighted_reward_of_the_config_regrades_as_stored_and_a_changed_row_is_reported(tmp_path: Path) -> None:
    rows = [row(r"so \boxed{4}", "4", 1.5, BOTH), row(r"so \boxed{5}", "4", 0.5, BOTH), row("it is 4", "4", 1.0, BOTH),
            # as an older math grader scored it: the fraction not equal to 0.5, so only the format's 0.5
            row(r"so \boxed{1/2}", "0.5", 0.5, "math@0+format1@1")]
    config = run_dir(tmp_path, rows, reward=WEIGHTED)
    out = tmp_path / "changes.jsonl"
    done = rescore_run(str(config), "--out", str(out), "--fail-on-change")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "4 records: same 3, 0->1 0, 1->0 0, changed 1, error 0, scored 0" in done.stdout
    (change,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert (change["line"], change["old_reward"], change["new_reward"]) == (4, 0.5, 1.5)
    assert (change["old_version"], change["new_version"], change["answer"]) == ("math@0+format1@1", BOTH, "1/2")

    same = rescore_run(str(config), "--samples", str(_write(tmp_path / "same.jsonl", rows[:3])), "--fail-on-change")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "3 records: same 3," in same.stdout


def test_overrides_reach_the_graders(tmp_path: Path) -> None:
    """`--set reward.graders=...` re-grades with other weights: every boxed row's reward moves."""
    config = run_dir(tmp_path, [row(r"so \boxed{4}", "4", 1.5, BOTH), row("it is 4", "4", 1.0, BOTH)],
                     reward=WEIGHTED)
    graders = [{"grader": MATH}, {"grader": BOXED, "weight": 2}]
    done = rescore_run(str(config), "--set", f"reward.graders={json.dumps(graders)}")
    assert done.returncode == 0, done.stderr
    assert "2 records: same 1, 0->1 0, 1->0 0, changed 1," in done.stdout


def test_eval_graders_show_what_the_reward_paid_for_that_they_reject(tmp_path: Path) -> None:
    """A reward that pays for the format alone (hackable), a math verifier for eval: the boxed wrong answer the
    reward paid 1 is a 1->0 under the eval graders."""
    rows = [row(r"\boxed{4}", "4", 1.0, "1"), row(r"\boxed{9}", "4", 1.0, "1"), row("4", "4", 0.0, "1")]
    config = run_dir(tmp_path, rows, reward={"graders": [{"grader": BOXED}]}, eval={"graders": [{"grader": MATH}]})
    trained = rescore_run(str(config), "--fail-on-change")
    assert trained.returncode == 0 and "3 records: same 3," in trained.stdout, trained.stdout + trained.stderr
    held_out = rescore_run(str(config), "--eval-graders")
    assert held_out.returncode == 0, held_out.stderr
    assert "3 records: same 1, 0->1 1, 1->0 1," in held_out.stdout
    assert "line 2 (1->0)" in held_out.stdout and "line 3 (0->1)" in held_out.stdout


def test_a_run_without_samples_an_unknown_grader_and_a_bad_config_are_named(tmp_path: Path) -> None:
    config = run_dir(tmp_path, [row("4", "4", 1.0, "1")], reward={"graders": [{"grader": "no_such_grader"}]})
    unknown = rescore_run(str(config))
    assert unknown.returncode == 2 and "unknown grader 'no_such_grader'" in unknown.stderr
    (tmp_path / "run" / "samples.jsonl").unlink()
    missing = rescore_run(str(config), "--set", "reward.graders=[{grader: math}]")
    assert missing.returncode == 2 and "samples.jsonl does not exist" in missing.stderr
    typo = rescore_run(str(config), "--set", "reward.weights=1")
    assert typo.returncode == 2 and "weights" in typo.stderr


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
