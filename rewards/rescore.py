"""Re-score stored rollouts with the current graders and report what changed (`rlvr rescore`).

A grader fix changes rewards a run already trained on; this shows which, before a release or after an
upgrade. Records are JSON lines with `completion` and optionally `prompt`, `reference`, `reward` and
`version` (the trainer's samples.jsonl, or any such file). The file is read in chunks and each chunk graded
as one batch by an in-process `RewardService`, so memory holds one chunk and the changes kept for display,
whatever the file's size; every change can be streamed to a JSONL file as it is found.

What grades a chunk is a `Grade`: one grader of the service here (`rlvr rescore --grader`), or the weighted
graders of a trainer config, combined as the trainer combines them (`rlvr rescore-run`, trainer/rescore.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rewards.service import RewardService
from rewards.types import Sample, Score

SAME, GAINED, LOST, CHANGED, ERROR, SCORED = "same", "0->1", "1->0", "changed", "error", "scored"
KINDS = (SAME, GAINED, LOST, CHANGED, ERROR, SCORED)

Grade = Callable[[list[Sample]], Awaitable[list[Score]]]  # one score per sample, in order


class RescoreInputError(ValueError):
    """A line of the rollouts file that is not a usable record; the message names the line."""


@dataclass
class Record:
    """One stored rollout: its 1-based line in the file, what to grade, and what it earned then."""

    line: int
    sample: Sample
    reward: float | None
    version: str | None


@dataclass
class Change:
    """A record whose new score differs from its stored one (or failed, or had none to compare)."""

    line: int
    kind: str
    old_reward: float | None
    new_reward: float
    old_version: str | None
    new_version: str | None
    answer: str | None
    reason: str | None
    error: str | None
    prompt: str
    completion: str


@dataclass
class RescoreReport:
    """Counts per kind (see KINDS), records graded without a reference, and the first `keep` changes."""

    counts: Counter[str] = field(default_factory=Counter)
    without_reference: int = 0
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """Records whose reward moved, or whose grading failed."""
        return sum(self.counts[k] for k in (GAINED, LOST, CHANGED, ERROR))


def parse_record(line_no: int, text: str) -> Record:
    """A record from one JSON line; RescoreInputError naming the line when it is not one."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RescoreInputError(f"line {line_no}: not JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise RescoreInputError(f"line {line_no}: expected a JSON object, got {type(row).__name__}")
    if not isinstance(row.get("completion"), str):
        raise RescoreInputError(f"line {line_no}: no 'completion' string")
    reward = row.get("reward")
    if reward is not None and (isinstance(reward, bool) or not isinstance(reward, int | float)
                               or not math.isfinite(reward)):
        raise RescoreInputError(f"line {line_no}: 'reward' must be a finite number, got {reward!r}")
    version = row.get("version")
    try:
        sample = Sample(prompt=row.get("prompt") or "", completion=row["completion"],
                        reference=row.get("reference"), metadata=row.get("metadata") or {})
    except ValueError as exc:
        raise RescoreInputError(f"line {line_no}: {exc}") from exc
    return Record(line_no, sample, None if reward is None else float(reward),
                  None if version is None else str(version))


def read_chunks(path: Path, size: int) -> Iterator[list[Record]]:
    """The file's records, `size` at a time; blank lines are skipped."""
    chunk: list[Record] = []
    with path.open(encoding="utf-8") as f:
        for line_no, text in enumerate(f, 1):
            if text.strip():
                chunk.append(parse_record(line_no, text))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def classify(old: float | None, new: Score) -> str:
    """Which kind of change a stored reward and a new score make."""
    if new.error is not None:
        return ERROR
    if old is None:
        return SCORED
    if math.isclose(old, new.reward, abs_tol=1e-9):
        return SAME
    if old == 0 and new.reward == 1:
        return GAINED
    if old == 1 and new.reward == 0:
        return LOST
    return CHANGED


async def rescore(grade: Grade, path: Path, *, chunk_size: int = 256, keep: int = 50,
                  on_change: Callable[[Change], None] | None = None) -> RescoreReport:
    """Grade every record of `path` with `grade` and compare with its stored reward.

    `on_change` sees every change (all kinds but `same` and `scored`); the report keeps the first `keep`.
    Raises RescoreInputError on a bad line (records before it are graded, their changes already passed on).
    """
    report = RescoreReport()
    for chunk in read_chunks(path, chunk_size):
        scores = await grade([r.sample for r in chunk])
        report.without_reference += sum(r.sample.reference is None for r in chunk)
        for record, score in zip(chunk, scores, strict=True):
            kind = classify(record.reward, score)
            report.counts[kind] += 1
            if kind in (SAME, SCORED):
                continue
            answer = score.details.get("answer")
            change = Change(line=record.line, kind=kind, old_reward=record.reward, new_reward=score.reward,
                            old_version=record.version, new_version=score.version,
                            answer=None if answer is None else str(answer), reason=score.details.get("reason"),
                            error=score.error, prompt=record.sample.prompt, completion=record.sample.completion)
            if on_change is not None:
                on_change(change)
            if len(report.changes) < keep:
                report.changes.append(change)
    return report


def change_row(change: Change) -> dict[str, Any]:
    """A change as one JSON-ready dict (a line of `--out`)."""
    return asdict(change)


def rescore_file(service: RewardService, grade: Grade, path: Path, *, out: Path | None = None,
                 chunk_size: int = 256, keep: int = 50) -> RescoreReport:
    """`rescore` with `grade` on `service`, started here and closed after; every change written to `out` as JSONL.

    What both commands run; raises RescoreInputError on a bad line."""

    async def run() -> RescoreReport:
        await service.start()
        try:
            with contextlib.ExitStack() as stack:
                sink = stack.enter_context(out.open("w", encoding="utf-8")) if out else None

                def write(change: Change) -> None:
                    if sink is not None:
                        sink.write(json.dumps(change_row(change)) + "\n")

                return await rescore(grade, path, chunk_size=chunk_size, keep=keep, on_change=write)
        finally:
            await service.close()

    return asyncio.run(run())


def _cut(text: str | None, width: int) -> str:
    text = "-" if text is None else " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _reward(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def render(report: RescoreReport, *, examples: int = 3) -> str:
    """The counts, a table of the kept changes, and the first few in full, as plain text."""
    counts = ", ".join(f"{kind} {report.counts[kind]}" for kind in KINDS)
    lines = [f"{sum(report.counts.values())} records: {counts}"]
    if report.without_reference:
        lines.append(f"warning: {report.without_reference} records have no 'reference'; a grader that compares "
                     "against one scores them without it (their 1->0 may only mean the file lacks references)")
    if report.changes:
        lines.append(f"{'line':>6}  {'kind':<7}  {'old':>5}  {'new':>5}  {'old ver':<10}  {'new ver':<10}  answer")
        for c in report.changes:
            lines.append(f"{c.line:>6}  {c.kind:<7}  {_reward(c.old_reward):>5}  {c.new_reward:>5g}  "
                         f"{_cut(c.old_version, 10):<10}  {_cut(c.new_version, 10):<10}  {_cut(c.answer, 40)}")
        if report.changed > len(report.changes):
            lines.append(f"... {report.changed - len(report.changes)} more changes not shown")
        for c in report.changes[:examples]:
            why = c.error or c.reason
            lines += [f"\nline {c.line} ({c.kind})" + (f": {why}" if why else ""),
                      f"  prompt:     {_cut(c.prompt, 200)}", f"  completion: {_cut(c.completion, 300)}"]
    return "\n".join(lines)
