"""Finding the program in real completions: the code grader's `auto`/`continuation` extraction vs evalplus's
`sanitize` vs the old last-fenced-block rule, on the labelled corpus in tests/data/code_corpus/*.jsonl.

Every case runs through the real grader path: a private `rlvr sandbox` and an `rlvr serve` using it, both
on loopback, one POST /v1/score/batch per chunk (all_or_nothing scoring). Ours: the record's `extract` mode
(the prompt given to the grader is the reference's prefix). evalplus: `sanitize(completion, entry point)`
(for a base model's continuation, of prefix + completion, as evalplus's own script does), run whole after
the prefix. Last fence: `"extract": "last_fence"`. A case is right when the verdict (reward 1) equals its
label; a false pass is a wrong or absent program that earned reward 1. Prints tables per shape and split,
every disagreement with the label, and one JSON line.

    python -m bench.code_extraction [--split dev|heldout|all]

evalplus is installed without its dependencies: `pip install --no-deps evalplus==0.3.1` (see pyproject).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from operator import itemgetter
from pathlib import Path
from typing import Any

import httpx

from rewards.graders.codeextract.python import names_used_by_test
from sandbox.local import child_service, free_port, local_sandbox

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "code_corpus"
SYSTEMS = ("ours", "evalplus", "last_fence")
CHUNK = 48


def load(split: str) -> list[dict[str, Any]]:
    records = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                if split == "all" or record["split"] == split:
                    records.append(record)
    return records


def entry_point(record: dict[str, Any]) -> str | None:
    """The function evalplus's sanitizer is told to keep (None for stdin/stdout tasks)."""
    tests = record["reference"]["tests"]
    if any(t["type"] == "io" for t in tests):
        return None
    for test in tests:
        if test["type"] == "call":
            return test["fn_name"].split(".")[0]
        found = re.search(r"^check\((\w+)\)", test["code"], re.MULTILINE)
        if found:
            return found.group(1)
    names = sorted(set().union(*(names_used_by_test(t["code"]) for t in tests if t["type"] == "script")))
    return names[0] if names else None


def evalplus_item(record: dict[str, Any]) -> dict[str, Any]:
    from evalplus.sanitize import sanitize

    reference = dict(record["reference"])
    entry = entry_point(record)
    if record["extract"] == "continuation":
        code = sanitize(reference.get("prefix", "") + "\n" + record["completion"], entry)
        reference["prefix"] = ""
    else:
        code = sanitize(record["completion"], entry)
    return {"completion": code, "reference": reference}


def score(server: str, grader: dict[str, Any], items: list[dict[str, Any]]) -> list[bool]:
    """Whether each item earned reward 1 through POST /v1/score/batch (machinery errors stop the bench)."""
    passed: list[bool] = []
    for start in range(0, len(items), CHUNK):
        r = httpx.post(server + "/v1/score/batch", json={"grader": grader, "items": items[start:start + CHUNK]},
                       timeout=900)
        r.raise_for_status()
        for result in r.json()["results"]:
            if result["error"]:
                raise SystemExit(f"machinery error: {result['error']}")
            passed.append(result["reward"] == 1.0)
    return passed


def run(server: str, records: list[dict[str, Any]]) -> dict[str, list[bool]]:
    base = {"type": "code", "scoring": "all_or_nothing", "language": "python"}
    verdicts: dict[str, list[bool]] = {name: [False] * len(records) for name in SYSTEMS}
    by_mode: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_mode[(record["extract"], record["language"])].append(i)
    with ProcessPoolExecutor(max_workers=2) as pool:
        peer_items = list(pool.map(evalplus_item, records, chunksize=8))
    for (mode, language), indices in by_mode.items():
        grader = {**base, "language": language}
        ours_items = [{"completion": records[i]["completion"], "reference": records[i]["reference"],
                       "prompt": records[i]["reference"].get("prefix", "")} for i in indices]
        plain = [{"completion": records[i]["completion"], "reference": records[i]["reference"]} for i in indices]
        for name, spec, items in (
                ("ours", {**grader, "extract": mode}, ours_items),
                ("evalplus", {**grader, "extract": "whole"}, [peer_items[i] for i in indices]),
                ("last_fence", {**grader, "extract": "last_fence"}, plain)):
            for i, ok in zip(indices, score(server, spec, items), strict=True):
                verdicts[name][i] = ok
    return verdicts


def tally(records: list[dict[str, Any]], passed: list[bool], keep) -> Counter:
    counts: Counter = Counter()
    for record, ok in zip(records, passed, strict=True):
        if keep(record):
            label = bool(record["label"])
            counts["n"] += 1
            counts["right" if ok == label else "false_pass" if ok else "false_fail"] += 1
    return counts


def cell(c: Counter) -> str:
    return f"{c['right']:>4}/{c['n']:<4} {c['false_pass']:>3} {c['false_fail']:>3}" if c["n"] else " " * 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    args = parser.parse_args()
    records = load(args.split)
    if not records:
        raise SystemExit(f"no records in {CORPUS}")
    try:
        import evalplus.sanitize  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"evalplus is missing ({exc}): pip install -e '.[bench]' && "
                         "pip install --no-deps evalplus==0.3.1") from exc
    start = time.perf_counter()
    with local_sandbox(workers=2) as sandbox, \
            child_service(["serve", "--workers", "1", "--sandbox-url", sandbox], free_port()) as server:
        verdicts = run(server, records)
    print(f"{len(records)} cases in {time.perf_counter() - start:.0f}s; each cell: right/n false-pass false-fail")
    header = f"{'':<40}" + "".join(f"{name:<18}" for name in SYSTEMS)
    for title, key in (("shape and split", lambda r: f"{r['shape']} ({r['split']})"), ("split", itemgetter("split")),
                       ("source", itemgetter("source_key")), ("shape", itemgetter("shape"))):
        print(f"\nper {title}\n{header}")
        for value in sorted({key(r) for r in records}):
            row = "".join(f"{cell(tally(records, verdicts[s], lambda r, k=key, v=value: k(r) == v)):<18}"
                          for s in SYSTEMS)
            print(f"{value:<40}{row}")
    print("\ndisagreements with the label (system: id shape label -> verdict)")
    for name in SYSTEMS:
        for record, ok in zip(records, verdicts[name], strict=True):
            if ok != bool(record["label"]):
                print(f"  {name:<10} {record['id']:<34} {record['shape']:<24} label={record['label']} got={int(ok)}")
    summary: dict[str, Any] = {}
    for split in ("dev", "heldout"):
        for name in SYSTEMS:
            c = tally(records, verdicts[name], lambda r, s=split: r["split"] == s)
            if c["n"]:
                summary[f"{name}_{split}_accuracy"] = round(c["right"] / c["n"], 4)
                summary[f"{name}_{split}_false_pass"] = c["false_pass"]
    split = "heldout" if any(r["split"] == "heldout" for r in records) else "dev"
    ours = summary[f"ours_{split}_accuracy"]
    peer = summary[f"evalplus_{split}_accuracy"]
    print(json.dumps({"bench": "code_extraction", "ours": ours, "peer": peer,
                      "ratio": round(ours / peer, 4) if peer else None, "unit": f"{split} accuracy", **summary}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
