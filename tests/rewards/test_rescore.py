"""`rlvr rescore`: stored rollouts re-graded by the current graders, and exactly the changed ones reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rewards.graders.math import MathGrader
from rewards.rescore import (
    CHANGED,
    ERROR,
    GAINED,
    LOST,
    SAME,
    SCORED,
    Grade,
    RescoreInputError,
    classify,
    parse_record,
    read_chunks,
    render,
    rescore,
)
from rewards.service import RewardService
from rewards.types import Score

ROOT = Path(__file__).resolve().parents[2]


def rollout(answer: str, reference: str, reward: float | None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"prompt": f"what is {reference}?", "completion": f"So the answer is \\boxed{{{answer}}}.",
                           "reference": reference, **extra}
    if reward is not None:
        row["reward"] = reward
    return row


# an old grader's verdicts: lines 2 and 4 were scored wrongly (a right answer given 0, a wrong one 1)
ROWS = [rollout("4", "4", 1.0, version="0"), rollout("1/2", "0.5", 0.0, version="0"),
        rollout("9", "9", 1.0, version="0"), rollout("7", "6", 1.0, version="0"), rollout("3", "5", 0.0, version="0")]


def math(service: RewardService) -> Grade:
    """The math grader with a generous budget: on a loaded machine the default 2 s could time a sample out (a 0)."""
    return lambda samples: service.score_batch({"type": "math", "timeout_s": 30}, samples)


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


async def test_exactly_the_wrongly_scored_records_are_reported(service: RewardService, tmp_path: Path) -> None:
    seen: list[int] = []
    report = await rescore(math(service), write(tmp_path / "s.jsonl", ROWS), chunk_size=2,
                           on_change=lambda c: seen.append(c.line))
    assert seen == [2, 4]
    assert report.counts[SAME] == 3 and report.counts[GAINED] == 1 and report.counts[LOST] == 1
    assert report.changed == 2
    gained, lost = report.changes
    assert (gained.kind, gained.old_reward, gained.new_reward, gained.answer) == (GAINED, 0.0, 1.0, "1/2")
    assert (lost.kind, lost.old_reward, lost.new_reward, lost.answer) == (LOST, 1.0, 0.0, "7")
    assert lost.old_version == "0" and lost.new_version == MathGrader.version


async def test_the_report_shows_the_table_and_examples(service: RewardService, tmp_path: Path) -> None:
    report = await rescore(math(service), write(tmp_path / "s.jsonl", ROWS), keep=1)
    text = render(report, examples=1)
    assert text.startswith("5 records: same 3, 0->1 1, 1->0 1, changed 0, error 0, scored 0")
    assert f"     2  0->1         0      1  0           {MathGrader.version}           1/2" in text
    assert "... 1 more changes not shown" in text and "line 2 (0->1)" in text and "what is 0.5?" in text


async def test_the_trainer_samples_shape(service: RewardService, tmp_path: Path) -> None:
    """trainer/metrics.py writes {"step", **row}: prompt, completion, reward (no version: written before it)."""
    rows = [{"step": 10, **rollout("4", "4", 0.0)}, {"step": 10, **rollout("5", "5", 1.0)},
            {"step": 20, **rollout("2", "2", None)}]
    report = await rescore(math(service), write(tmp_path / "samples.jsonl", rows))
    assert report.counts[GAINED] == 1 and report.counts[SAME] == 1 and report.counts[SCORED] == 1
    assert [(c.line, c.old_version, c.new_version) for c in report.changes] == [(1, None, MathGrader.version)]


async def test_records_without_a_reference_are_counted_and_warned_about(service: RewardService,
                                                                        tmp_path: Path) -> None:
    rows = [{"step": 10, "prompt": "2+2?", "completion": "\\boxed{4}", "reward": 1.0}, ROWS[0]]
    report = await rescore(math(service), write(tmp_path / "samples.jsonl", rows))
    assert report.without_reference == 1 and report.counts[LOST] == 1
    assert "warning: 1 records have no 'reference'" in render(report)


async def test_the_kept_changes_are_bounded_but_every_one_is_counted(service: RewardService, tmp_path: Path) -> None:
    rows = [rollout("1", "1", 0.0)] * 7
    report = await rescore(math(service), write(tmp_path / "s.jsonl", rows), chunk_size=3, keep=2)
    assert report.counts[GAINED] == 7 and [c.line for c in report.changes] == [1, 2]


@pytest.mark.parametrize(("old", "new", "kind"), [
    (1.0, Score(reward=1.0), SAME), (0.0, Score(reward=1.0), GAINED), (1.0, Score(reward=0.0), LOST),
    (0.5, Score(reward=0.25), CHANGED), (1.0, Score.failed("sandbox down"), ERROR), (None, Score(), SCORED),
    (None, Score.failed("sandbox down"), ERROR),
])
def test_each_kind_of_change(old: float | None, new: Score, kind: str) -> None:
    """A failed grading is an error, never a 1->0: its 0 is not a verdict."""
    assert classify(old, new) == kind


@pytest.mark.parametrize(("text", "says"), [
    ("{not json", "not JSON"), ("[1, 2]", "expected a JSON object"), ('{"prompt": "p"}', "no 'completion'"),
    ('{"completion": "c", "reward": "high"}', "'reward' must be a finite number"),
    ('{"completion": "c", "reward": true}', "'reward' must be a finite number"),
])
def test_a_bad_line_is_named(text: str, says: str) -> None:
    with pytest.raises(RescoreInputError, match=f"line 7: .*{says}"):
        parse_record(7, text)


def test_the_line_number_counts_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", [json.dumps(ROWS[0]), "", "oops"])
    with pytest.raises(RescoreInputError, match="line 3: not JSON"):
        list(read_chunks(path, 10))


def rlvr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlvr", "rescore", *args, "--workers", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_cli_reports_writes_the_changes_and_fails_on_change(tmp_path: Path) -> None:
    config = tmp_path / "rlvr.yaml"
    config.write_text(yaml.safe_dump({"graders": {"boxed": {"type": "math"}}}))
    out = tmp_path / "changes.jsonl"
    done = rlvr(str(write(tmp_path / "s.jsonl", ROWS)), "--grader", "boxed", "--config", str(config),
                "--out", str(out), "--fail-on-change")
    assert done.returncode == 1, done.stderr
    assert "5 records: same 3, 0->1 1, 1->0 1" in done.stdout
    assert [json.loads(line)["line"] for line in out.read_text().splitlines()] == [2, 4]


def test_the_cli_takes_a_json_spec_and_exits_0_when_nothing_changed(tmp_path: Path) -> None:
    done = rlvr(str(write(tmp_path / "s.jsonl", [ROWS[0], ROWS[2]])), "--grader", '{"type": "math"}',
                "--fail-on-change")
    assert done.returncode == 0, done.stderr
    assert "2 records: same 2, 0->1 0, 1->0 0, changed 0, error 0" in done.stdout


def test_the_cli_names_a_bad_line_and_an_unknown_grader(tmp_path: Path) -> None:
    bad = write(tmp_path / "s.jsonl", [ROWS[0], '{"prompt": "no completion"}'])
    done = rlvr(str(bad), "--grader", "math")
    assert done.returncode == 2 and "line 2: no 'completion' string" in done.stderr
    unknown = rlvr(str(bad), "--grader", "no_such_grader")
    assert unknown.returncode == 2 and "unknown grader 'no_such_grader'" in unknown.stderr
