"""Verifier accuracy on real model output: rlvr's math grader, Math-Verify and veRL's scorers, side by side.

Reads every `tests/data/math_corpus/*.jsonl` (format: the corpus notes; one file per public source,
each record labelled by hand), checks each record's fields (a malformed record is reported and left
out, never a crash), and scores each completion against its reference with:

- rlvr: `rewards.graders.math.score(MathSpec(), Sample(completion, reference))`, in-process code run
  in rlvr's worker pool under the service's per-sample CPU budget (`--timeout`, default as served).
- Math-Verify: `verify(parse(gold), parse(completion))` with the default extraction config
  (LaTeX and plain expressions) and default comparison options. Its README says LaTeX is read only
  inside a math environment, so a reference without `$`, `\\(`, `\\[` or `\\boxed` is given as `$ref$`.
- veRL, when installed by hand (`pip install --no-deps verl pylatexenc`; not in the `bench` extra because
  veRL's own requirements bring ray, hydra, wandb, tensorboard and a transformers pin):
  `math_dapo.compute_score(completion, reference)["acc"]` and
  `prime_math.compute_score(completion, reference)[0]`, the calls veRL's `default_compute_score`
  makes for those data sources. veRL's package `__init__` imports ray and its trainer stack, so the
  two scorer modules are imported from veRL's installed files without running that `__init__`;
  prime_math runs sympy in a child process under its own timeout, so its worker may fork.
  A scorer that does not load is left out with the reason printed.

Peers run in the same pool under `--peer-timeout` CPU seconds per case (a worker's first veRL call
also imports torch). A timeout or crash counts as a rejection for every tool. Math-Verify's own
timeouts count wall time, so on a busy machine it may reject a few slow cases it would accept.

Prints, for the `dev` and `heldout` splits, a table per split of accuracy, precision, recall
(positive = label 1) and false positives on hard negatives, per format class and overall; then
every verdict that differs from the label; then one JSON line (`ours`/`peer`: held-out accuracy of
rlvr/Math-Verify; `hard_negative_false_positives_ours`: over both splits; `mv_suite_agree`: cases of
Math-Verify's own suite where rlvr agrees with it, see `bench.mv_suite`).

    .venv/bin/python -m bench.verifier_accuracy [--corpus DIR] [--timeout 2] [--peer-timeout 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.machinery
import importlib.util
import io
import json
import multiprocessing
import re
import sys
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.mv_suite import (
    PEER_TIMEOUT_S,
    PRELOAD,
    Verdict,
    disagreements,
    math_verify_verdict,
    ours_verdict,
    peer_verdict,
    run_suite,
)
from rewards.graders.math import MathSpec, score
from rewards.pool import Outcome, WorkerPool
from rewards.settings import Settings
from rewards.types import Sample

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "math_corpus"
SPLITS = ("dev", "heldout")
CLASSES = frozenset({
    "boxed_plain", "boxed_text_units", "boxed_equation", "several_boxes", "answer_line", "answer_tag",
    "choice_letter", "number_format", "latex_structure", "special_token", "no_marker", "truncated", "hedge",
})  # fmt: skip
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "id": str, "source_key": str, "source": dict, "split": str, "class": str, "reference": str,
    "completion": str, "label": int, "real": bool,
}  # fmt: skip
OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "model": (str, type(None)), "source_verdict": (bool, int, str, type(None)), "hard_negative": bool,
    "note": (str, type(None)), "derived_from": str,
}  # fmt: skip
MIN_REAL_SHARE = 0.6
VERL_SCORERS = ("math_dapo", "prime_math")
OURS = "rlvr"
PEER = "math-verify"


# ---------- the corpus ----------


def record_problems(record: Any) -> list[str]:
    """What is wrong with one record (empty when it is well formed)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [f"missing {key}" for key in REQUIRED if key not in record]
    for key, kind in {**REQUIRED, **OPTIONAL}.items():
        if key in record and (not isinstance(record[key], kind) or (kind is int and isinstance(record[key], bool))):
            problems.append(f"{key} has type {type(record[key]).__name__}")
    if problems:
        return problems
    source = record["source"]
    if not ("url" in source or all(k in source for k in ("repo", "path", "commit", "record"))):
        problems.append("source needs url, or repo+path+commit+record")
    elif "commit" in source and not re.fullmatch(r"[0-9a-f]{40}", str(source["commit"])):
        problems.append("source commit is not 40 hex digits")
    if record["split"] not in SPLITS:
        problems.append(f"split {record['split']!r}")
    if record["label"] not in (0, 1):
        problems.append(f"label {record['label']!r}")
    if not record["id"].startswith(record["source_key"] + "/"):
        problems.append("id does not start with source_key/")
    if not record["reference"].strip():
        problems.append("empty reference")
    if record.get("hard_negative") and record["label"] != 0:
        problems.append("hard_negative with label 1")
    needs_note = record["label"] == 0 or record.get("hard_negative") or not record["real"]
    if needs_note and not (record.get("note") or "").strip():
        problems.append("note required (label 0, hard negative or not real)")
    if not record["real"] and not record.get("derived_from"):
        problems.append("derived_from required when real is false")
    return problems


@dataclass
class Corpus:
    """The well-formed records of every corpus file, and what was wrong with the rest."""

    records: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # "file:line: problems"
    problems: list[str] = field(default_factory=list)  # across records: duplicate ids, mixed splits...
    files: list[str] = field(default_factory=list)
    new_classes: Counter[str] = field(default_factory=Counter)


def load_corpus(directory: Path = CORPUS) -> Corpus:
    """Every `*.jsonl` under `directory` as it is now (files may still be growing)."""
    corpus = Corpus()
    for path in sorted(directory.glob("*.jsonl")):
        corpus.files.append(path.name)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                corpus.malformed.append(f"{path.name}:{number}: not JSON ({exc.msg})")
                continue
            problems = record_problems(record)
            if not problems and record["source_key"] != path.stem:
                problems.append(f"source_key {record['source_key']!r} in file {path.name}")
            if problems:
                corpus.malformed.append(f"{path.name}:{number}: {record.get('id', '?')}: {'; '.join(problems)}")
                continue
            corpus.records.append(record)
            if record["class"] not in CLASSES:
                corpus.new_classes[record["class"]] += 1
    corpus.problems = corpus_problems(corpus.records)
    return corpus


def corpus_problems(records: Sequence[dict[str, Any]]) -> list[str]:
    """Rules across records: unique ids, one split per source, enough real completions."""
    problems = [f"duplicate id {i}" for i, n in Counter(r["id"] for r in records).items() if n > 1]
    splits: dict[str, set[str]] = defaultdict(set)
    for record in records:
        splits[record["source_key"]].add(record["split"])
    problems += [f"source {key} has several splits: {sorted(s)}" for key, s in splits.items() if len(s) > 1]
    if records and sum(r["real"] for r in records) < MIN_REAL_SHARE * len(records):
        problems.append(f"under {MIN_REAL_SHARE:.0%} of the records are real")
    return problems


# ---------- the tools ----------


def math_verify_gold(reference: str) -> str:
    """The reference as Math-Verify reads gold: LaTeX inside a math environment."""
    if any(mark in reference for mark in ("$", "\\(", "\\[", "\\boxed")):
        return reference
    return f"${reference}$"


def _verl_module(name: str) -> types.ModuleType:
    """veRL's `verl.utils.reward_score.<name>`, imported from its files without veRL's package `__init__`."""
    if "verl" not in sys.modules:
        spec = importlib.util.find_spec("verl")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("verl is not installed")
        root = Path(next(iter(spec.submodule_search_locations)))
        for package, sub in (("verl", root), ("verl.utils", root / "utils"),
                             ("verl.utils.reward_score", root / "utils" / "reward_score")):  # fmt: skip
            module = types.ModuleType(package)
            module.__spec__ = importlib.machinery.ModuleSpec(package, None, is_package=True)
            module.__spec__.submodule_search_locations = module.__path__ = [str(sub)]
            sys.modules[package] = module
    return importlib.import_module(f"verl.utils.reward_score.{name}")


def verl_verdict(scorer: str, completion: str, reference: str) -> tuple[bool, str]:
    """veRL's verdict and extracted answer, as its `default_compute_score` calls `scorer` (runs in a worker)."""
    module = _verl_module(scorer)
    # prime_math runs sympy in a child process under a timeout, started the way it is in veRL's own
    # reward workers on Linux: forked (this worker was started by a forkserver, as a daemon)
    multiprocessing.current_process().daemon = False
    multiprocessing.set_start_method("fork", force=True)
    with contextlib.redirect_stdout(io.StringIO()):  # both scorers print on odd input
        if scorer == "math_dapo":
            result = module.compute_score(completion, reference)
            return bool(result["acc"]), str(result["pred"])
        correct, _, answer = module.compute_score(completion, reference)
        return bool(correct), str(answer)


@dataclass(frozen=True)
class Tool:
    """A column of the report: how to call it in a worker, and its CPU budget per case."""

    name: str
    call: Callable[..., Any]
    args: Callable[[dict[str, Any]], tuple]
    verdict: Callable[[Outcome], Verdict]
    timeout: float


def ours_tool(timeout: float) -> Tool:
    """rlvr's math grader with the default spec, as the service runs it."""
    spec = MathSpec()
    return Tool(OURS, score, lambda r: (spec, Sample(completion=r["completion"], reference=r["reference"])),
                ours_verdict, timeout)  # fmt: skip


def tools(timeout: float, peer_timeout: float) -> list[Tool]:
    """rlvr, Math-Verify, then veRL's two math scorers."""
    return [
        ours_tool(timeout),
        Tool(PEER, math_verify_verdict, lambda r: (math_verify_gold(r["reference"]), r["completion"], {}),
             peer_verdict, peer_timeout),
        *(Tool(f"verl {name}", verl_verdict, lambda r, n=name: (n, r["completion"], r["reference"]),
               peer_verdict, peer_timeout) for name in VERL_SCORERS),
    ]  # fmt: skip


async def available(pool: WorkerPool, tool: Tool) -> str | None:
    """None when `tool` answers a trivial case right in a worker, else why it is left out."""
    probe = {"completion": "So the answer is $\\boxed{18}$.", "reference": "18"}
    outcome = await pool.run(tool.call, *tool.args(probe), timeout=max(tool.timeout, 60.0))
    if outcome.timeout:
        return "timed out on a trivial case"
    if outcome.crashed is not None:
        return outcome.crashed
    return None if tool.verdict(outcome).accepted else "rejected a trivial right answer"


async def score_corpus(
    records: Sequence[dict[str, Any]], columns: Sequence[Tool]
) -> tuple[dict[str, list[Verdict]], dict[str, str]]:
    """Verdicts per tool name (record order) and, for tools left out, why."""
    pool = WorkerPool(preload=PRELOAD)
    await pool.start()
    verdicts: dict[str, list[Verdict]] = {}
    skipped: dict[str, str] = {}
    try:
        for tool in columns:
            reason = await available(pool, tool)
            if reason is not None:
                skipped[tool.name] = reason
                continue
            outcomes = await pool.map(tool.call, [tool.args(r) for r in records], tool.timeout)
            verdicts[tool.name] = [tool.verdict(o) for o in outcomes]
    finally:
        await pool.close()
    return verdicts, skipped


# ---------- the report ----------


@dataclass
class Tally:
    """Confusion counts of one tool on one group of records."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    hard_fp: int = 0  # hard negatives accepted

    def add(self, accepted: bool, label: int, hard_negative: bool) -> None:
        if label:
            self.tp, self.fn = self.tp + accepted, self.fn + (not accepted)
        else:
            self.fp, self.tn = self.fp + accepted, self.tn + (not accepted)
        self.hard_fp += hard_negative and accepted

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def tally(records: Iterable[dict[str, Any]], verdicts: Sequence[Verdict]) -> dict[tuple[str, str], Tally]:
    """Tallies keyed by (split, class), with class "overall" for the whole split."""
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for record, verdict in zip(records, verdicts, strict=True):
        for key in ((record["split"], record["class"]), (record["split"], "overall")):
            tallies[key].add(verdict.accepted, record["label"], bool(record.get("hard_negative")))
    return tallies


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def split_table(
    split: str, records: Sequence[dict[str, Any]], tallies: dict[str, dict[tuple[str, str], Tally]]
) -> Table:
    """One split: a row per class (and overall); per tool accuracy, precision, recall, hard-negative FPs."""
    table = Table(title=f"{split}: accuracy / precision / recall (%) / false positives on hard negatives")
    for heading in ("class", "n", "pos", "hard neg"):
        table.add_column(heading, justify="left" if heading == "class" else "right")
    for name in tallies:
        table.add_column(f"{name}\nacc   P   R   hnFP", justify="right")
    mine = [r for r in records if r["split"] == split]
    classes = sorted({r["class"] for r in mine})
    for cls in [*classes, "overall"]:
        group = [r for r in mine if cls in (r["class"], "overall")]
        cells = []
        for per_tool in tallies.values():
            t = per_tool.get((split, cls), Tally())
            cells.append(f"{_pct(t.accuracy())} {_pct(t.precision())} {_pct(t.recall())} {t.hard_fp}")
        hard = sum(bool(r.get("hard_negative")) for r in group)
        table.add_row(cls, str(len(group)), str(sum(r["label"] for r in group)), str(hard), *cells,
                      end_section=cls == classes[-1])  # fmt: skip
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Score the corpus with every tool that loads; print the tables, the disagreements and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="directory of *.jsonl corpus files")
    parser.add_argument("--timeout", type=float, default=Settings().timeout_s, help="rlvr CPU s per case")
    parser.add_argument("--peer-timeout", type=float, default=PEER_TIMEOUT_S, help="peers' CPU s per case")
    args = parser.parse_args(argv)
    console = Console(width=200)
    corpus = load_corpus(args.corpus)
    records = corpus.records
    console.print(f"corpus: {len(corpus.files)} files, {len(records)} records scored, "
                  f"{len(corpus.malformed)} malformed left out")  # fmt: skip
    for problem in corpus.malformed + corpus.problems:
        console.print(f"  [yellow]corpus problem[/] {problem}", markup=True, highlight=False)
    for cls, n in corpus.new_classes.items():
        console.print(f"  class not in the format's list: {cls} ({n} records)")
    if not records:
        console.print("no records to score")
        return 1
    verdicts, skipped = asyncio.run(score_corpus(records, tools(args.timeout, args.peer_timeout)))
    suite, suite_ours, _ = asyncio.run(run_suite(args.timeout))
    for name, reason in skipped.items():
        console.print(f"[yellow]left out[/] {name}: {reason}")
    if OURS not in verdicts:
        return 1
    for name, per_tool in verdicts.items():
        timeouts = sum(v.reason == "timeout" for v in per_tool)
        crashes = sum(v.reason.startswith("crashed:") for v in per_tool)
        console.print(f"{name}: {timeouts} timeouts, {crashes} crashes (each counted as a rejection)")
    tallies = {name: tally(records, v) for name, v in verdicts.items()}
    for split in SPLITS:
        console.print(split_table(split, records, tallies))
    print_disagreements(console, records, verdicts)
    ours, peer = tallies[OURS], tallies.get(PEER, {})
    held_ours, held_peer = ours.get(("heldout", "overall"), Tally()), peer.get(("heldout", "overall"), Tally())
    rounded = {k: None if v is None else round(v, 4) for k, v in {
        "ours": held_ours.accuracy(), "peer": held_peer.accuracy(),
        "heldout_recall_ours": held_ours.recall(), "heldout_recall_peer": held_peer.recall(),
        "dev_accuracy_ours": ours.get(("dev", "overall"), Tally()).accuracy(),
    }.items()}  # fmt: skip
    ratio = rounded["ours"] / rounded["peer"] if rounded["ours"] is not None and rounded["peer"] else None
    print(json.dumps({
        "bench": "verifier_accuracy", "ours": rounded["ours"], "peer": rounded["peer"],
        "ratio": None if ratio is None else round(ratio, 4), "unit": "accuracy",
        "heldout_recall_ours": rounded["heldout_recall_ours"], "heldout_recall_peer": rounded["heldout_recall_peer"],
        "dev_accuracy_ours": rounded["dev_accuracy_ours"],
        "hard_negative_false_positives_ours": sum(ours[(s, "overall")].hard_fp for s in SPLITS if (s, "overall") in ours),
        "mv_suite_agree": len(suite) - len(disagreements(suite, suite_ours)),
        "cases": len(records),
    }))  # fmt: skip
    return 0


def print_disagreements(console: Console, records: Sequence[dict[str, Any]], verdicts: dict[str, list[Verdict]]) -> None:
    """Every (record, tool) whose verdict differs from the label, with rlvr's extracted answer, by split."""
    for split in SPLITS:
        warning = " (held out: measure on these, do not tune on them)" if split == "heldout" else ""
        console.print(f"\n{split} disagreements with the label{warning}\n"
                      "id | tool | verdict | label | rlvr's answer (why rejected) | tool's answer")  # fmt: skip
        for index, record in enumerate(records):
            if record["split"] != split:
                continue
            ours = verdicts[OURS][index]
            for name, per_tool in verdicts.items():
                verdict = per_tool[index]
                if verdict.accepted == bool(record["label"]):
                    continue
                their = "" if name == OURS else f" | {verdict.answer[:80]!r}"
                why = f" ({verdict.reason})" if name == OURS and verdict.reason else ""
                console.print(f"{record['id']} | {name} | {int(verdict.accepted)} | {record['label']} | "
                              f"{ours.answer[:80]!r}{why}{their}", markup=False, highlight=False, soft_wrap=True)  # fmt: skip


if __name__ == "__main__":
    # Re-enter through the package so the functions pool workers unpickle live in `bench.verifier_accuracy`.
    from bench.verifier_accuracy import main as _main

    sys.exit(_main())
