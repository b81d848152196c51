"""Math-Verify's own test suite, scored by rlvr's math grader (and by Math-Verify, as a check on the data).

`tests/data/math_verify_suite.jsonl` holds every (gold, prediction, expected) case that Math-Verify's
test suite checks. Math-Verify's helper parses gold and prediction with the same extraction and
passes both strings as they are (no `$` wrapping), so both tools get them as they are: rlvr takes
`gold` as the reference and `prediction` as the completion, with the default `MathSpec()`; Math-Verify
runs `parse` on each with the case's config and `verify(gold, prediction)` with its comparison
options. Every case runs in rlvr's worker pool under a per-case CPU budget (sympy can hang): the
service's default for rlvr, a generous one for Math-Verify (measured for verdicts, not speed).
Prints the agreement of each tool with `expected` and every case where rlvr disagrees.

    .venv/bin/python -m bench.mv_suite [--timeout 2] [--peer-timeout 20] [--update-differences]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewards.graders.math import MathSpec, score
from rewards.pool import DEFAULT_PRELOAD, Outcome, WorkerPool
from rewards.settings import Settings
from rewards.types import Sample, Score

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "data" / "math_verify_suite.jsonl"
DIFFERENCES = ROOT / "tests" / "data" / "math_verify_suite_differences.md"
UNCLASSIFIED = "## not yet classified"
PRELOAD = (*DEFAULT_PRELOAD, "math_verify")
PEER_TIMEOUT_S = 20.0  # generous: peers are measured for verdicts, not speed (and Math-Verify has its own)


@dataclass(frozen=True)
class Verdict:
    """One tool's verdict on one case: accepted or not, what it extracted, and why (for a rejection)."""

    accepted: bool
    answer: str = ""
    reason: str = ""
    stage: str = ""


def math_verify_verdict(gold: str, prediction: str, config: dict[str, Any]) -> tuple[bool, str]:
    """Math-Verify's verdict and extracted prediction; `config` as in the suite file (absent keys: defaults).

    Runs in a pool worker: Math-Verify's own timeouts use SIGALRM, which works in a worker's main thread.
    """
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # its timeout warnings quote whole completions
    latex = (
        {"boxed_match_priority": config["boxed_match_priority"]} if "boxed_match_priority" in config else {}
    )
    targets = [
        LatexExtractionConfig(**latex) if kind == "latex" else ExprExtractionConfig()
        for kind in config.get("extraction", ["latex", "expr"])
    ]
    gold_parsed = parse(gold, targets)
    pred_parsed = parse(prediction, targets)
    ok = verify(
        gold_parsed,
        pred_parsed,
        float_rounding=config.get("float_rounding", 6),
        strict=config.get("strict", True),
        allow_set_relation_comp=config.get("allow_set_relation_comp", False),
    )
    return bool(ok), str(pred_parsed[-1]) if pred_parsed else ""


def _lost(outcome: Outcome) -> Verdict | None:
    """The rejection a timeout or a crash counts as, or None when the call returned a value."""
    if outcome.timeout:
        return Verdict(False, reason="timeout")
    if outcome.crashed is not None:
        return Verdict(False, reason=f"crashed: {outcome.crashed}")
    return None


def ours_verdict(outcome: Outcome) -> Verdict:
    """rlvr's verdict from a pool outcome of `rewards.graders.math.score`."""
    if (lost := _lost(outcome)) is not None:
        return lost
    result: Score = outcome.value
    details = result.details
    return Verdict(
        result.reward == 1.0,
        answer=str(details.get("answer", "")),
        reason=str(details.get("reason", "")),
        stage=str(details.get("stage", "")),
    )


def peer_verdict(outcome: Outcome) -> Verdict:
    """A peer's verdict from a pool outcome of a function returning (accepted, extracted answer)."""
    if (lost := _lost(outcome)) is not None:
        return lost
    accepted, answer = outcome.value
    return Verdict(accepted, answer=answer)


async def score_pairs(
    pairs: Sequence[tuple[str, str, dict[str, Any]]], timeout: float, peer_timeout: float | None
) -> tuple[list[Verdict], list[Verdict] | None]:
    """Score (reference, completion, math-verify config) pairs with rlvr and, given `peer_timeout`, Math-Verify.

    Each call runs in rlvr's worker pool with that many seconds of CPU; past it the worker is killed.
    """
    pool = WorkerPool(preload=PRELOAD if peer_timeout else DEFAULT_PRELOAD)
    await pool.start()
    try:
        spec = MathSpec()
        ours = await pool.map(
            score, [(spec, Sample(completion=c, reference=r)) for r, c, _ in pairs], timeout
        )
        theirs = await pool.map(math_verify_verdict, list(pairs), peer_timeout) if peer_timeout else None
    finally:
        await pool.close()
    return [ours_verdict(o) for o in ours], [peer_verdict(o) for o in theirs] if theirs is not None else None


def load_suite(path: Path = SUITE) -> list[dict[str, Any]]:
    """The suite's cases, in file order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def run_suite(
    timeout: float, peer_timeout: float | None = None
) -> tuple[list[dict[str, Any]], list[Verdict], list[Verdict] | None]:
    """(cases, rlvr's verdicts, Math-Verify's verdicts or None) for the whole suite."""
    cases = load_suite()
    ours, theirs = await score_pairs(
        [(c["gold"], c["prediction"], c["config"]) for c in cases], timeout, peer_timeout
    )
    return cases, ours, theirs


def disagreements(
    cases: Sequence[dict[str, Any]], verdicts: Sequence[Verdict]
) -> list[tuple[dict[str, Any], Verdict]]:
    """The cases where a verdict differs from the suite's `expected`."""
    return [(c, v) for c, v in zip(cases, verdicts, strict=True) if v.accepted != c["expected"]]


def listed_ids(text: str) -> set[str]:
    """Case ids listed in the differences file (entries are lines `- `<id>` — why`)."""
    return set(re.findall(r"^- `([^`]+)`", text, re.MULTILINE))


def update_differences(wrong: Sequence[tuple[dict[str, Any], Verdict]], path: Path = DIFFERENCES) -> int:
    """Rewrite the file's "not yet classified" section as the current disagreements not classified above it.

    Returns how many entries it wrote. What precedes the section (the deliberate choices) is kept as it is.
    """
    head = path.read_text(encoding="utf-8").partition(UNCLASSIFIED)[0]
    classified = listed_ids(head)
    entries = []
    for case, verdict in wrong:
        if case["id"] in classified:
            continue
        did = "accepts" if verdict.accepted else "rejects"
        answer = " ".join(verdict.answer.replace("`", "'").split())[:80]
        entries.append(f"- `{case['id']}` — rlvr {did}, the suite expects {'accept' if case['expected'] else 'reject'}"
                       f" [answer `{answer}`; stage {verdict.stage or '-'}; {verdict.reason or 'equal'}]")  # fmt: skip
    path.write_text(f"{head}{UNCLASSIFIED}\n\n" + "".join(f"{e}\n" for e in entries), encoding="utf-8")
    return len(entries)


def main(argv: Sequence[str] | None = None) -> int:
    """Score the suite, print both agreements and rlvr's disagreements, then one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=Settings().timeout_s, help="rlvr's CPU s per case")
    parser.add_argument(
        "--peer-timeout", type=float, default=PEER_TIMEOUT_S, help="Math-Verify's CPU s per case"
    )
    parser.add_argument(
        "--update-differences", action="store_true", help=f"rewrite {UNCLASSIFIED!r} in {DIFFERENCES.name}"
    )
    args = parser.parse_args(argv)
    cases, ours, theirs = asyncio.run(run_suite(args.timeout, args.peer_timeout))
    assert theirs is not None
    ours_wrong = disagreements(cases, ours)
    peer_wrong = disagreements(cases, theirs)
    print(f"cases: {len(cases)} (expected true: {sum(c['expected'] for c in cases)})")
    print(f"rlvr agrees with expected:        {len(cases) - len(ours_wrong)}/{len(cases)}")
    print(f"Math-Verify agrees with expected: {len(cases) - len(peer_wrong)}/{len(cases)}")
    for case, verdict in peer_wrong:
        print(f"  Math-Verify (installed) differs from its suite: {case['id']} {verdict.reason}")
    print(f"\nrlvr disagreements ({len(ours_wrong)}):")
    for case, verdict in ours_wrong:
        print(f"- {case['id']}  expected={case['expected']}  ours={verdict.accepted}")
        print(f"    gold:       {case['gold']!r}")
        print(f"    prediction: {case['prediction'][:300]!r}")
        print(f"    ours: answer={verdict.answer!r} stage={verdict.stage!r} reason={verdict.reason!r}")
    if args.update_differences:
        print(f"\n{DIFFERENCES.name}: {update_differences(ours_wrong)} entries not yet classified")
    print(
        json.dumps(
            {
                "bench": "mv_suite",
                "ours": len(cases) - len(ours_wrong),
                "peer": len(cases) - len(peer_wrong),
                "cases": len(cases),
                "ratio": round((len(cases) - len(ours_wrong)) / max(1, len(cases) - len(peer_wrong)), 4),
                "unit": "cases agreeing",
            }
        )
    )
    return 0


if __name__ == "__main__":
    # Re-enter through the package so the functions pool workers unpickle live in `bench.mv_suite`,
    # not in `__main__`.
    from bench.mv_suite import main as _main

    sys.exit(_main())
