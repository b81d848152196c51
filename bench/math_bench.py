"""Math grader benchmark: rlvr's /v1/score/batch against Math-Verify (in-process) on the same pairs.

Builds a deterministic mixed set of (reference, completion) pairs, scores it with Math-Verify's
documented `parse`/`verify` in this process and with `rlvr serve` (default settings) over HTTP,
prints throughput, the ratio and every disagreement, then single-request latency (p50/p99, the median
over repeats) at 32 and 64 concurrent clients, with and without slow samples in flight, and the
machine's load average around each run (the box may be shared). Ends with one JSON line.

    .venv/bin/python -m bench.math_bench [--pairs 2400] [--seed 0] [--repeats 3] [--latency-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from fractions import Fraction

import httpx

from sandbox.local import child_service, free_port

REASONING = (
    "Let us work through the problem step by step. First we restate what is given and name the unknown. "
    "Then we set up the relation between the quantities, simplify both sides carefully and check the "
    "arithmetic once more, making sure no case was missed. "
)
# A slow math answer: twelve exact binomials of 40,000 bits, about a second of CPU (the \sin(2^{99999})+...
# answers of the issue are now refused at once). The table reports how long it really took to grade.
SLOW_REQUEST = {"grader": "math", "reference": "1",
                "completion": r"\boxed{" + "+".join(rf"\binom{{{40_000 + k}}}{{{20_000 + k}}}" for k in range(12)) + "}"}
SLOW_SENDERS = 2  # one per core: without a fast lane they would hold both cores' workers


def _integer(rng: random.Random) -> tuple[str, str, str]:
    n = rng.randint(-999, 99_999)
    return str(n), rng.choice([str(n), f"{n:,}", f"{n}.0"]), str(n + rng.choice([-1, 1, 10]))


def _decimal(rng: random.Random) -> tuple[str, str, str]:
    value = Fraction(rng.randint(1, 99_999), 100)
    text = f"{float(value):.2f}"
    return text, rng.choice([text, text.rstrip("0").rstrip("."), f"{value.numerator}/{value.denominator}"]), (
        f"{float(value) + 0.01:.2f}"
    )


def _fraction(rng: random.Random) -> tuple[str, str, str]:
    p, q = rng.randint(1, 50), rng.randint(2, 50)
    f = Fraction(p, q)
    ref = rf"\frac{{{f.numerator}}}{{{f.denominator}}}"
    right = rng.choice([ref, f"{f.numerator}/{f.denominator}", rf"\dfrac{{{f.numerator * 2}}}{{{f.denominator * 2}}}"])
    return ref, right, rf"\frac{{{f.numerator + 1}}}{{{f.denominator}}}"


def _radical(rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
    ref = rf"{a}\sqrt{{{b}}}"
    right = rng.choice([ref, rf"\sqrt{{{a * a * b}}}", rf"{a} \sqrt{b}"])
    return ref, right, rng.choice([rf"{a + 1}\sqrt{{{b}}}", str(a), rf"\sqrt{{{a * b}}}"])


def _polynomial(rng: random.Random) -> tuple[str, str, str]:
    r, s = rng.randint(1, 9), rng.randint(1, 9)
    ref = f"x^2 + {r + s}x + {r * s}"
    right = rng.choice([ref, f"(x+{r})(x+{s})", f"{r * s} + {r + s}x + x^2"])
    return ref, right, f"(x+{r})(x-{s})"


def _set(rng: random.Random) -> tuple[str, str, str]:
    items = sorted(rng.sample(range(-20, 20), rng.randint(2, 4)))
    ref = r"\{" + ", ".join(map(str, items)) + r"\}"
    shuffled = items[:]
    rng.shuffle(shuffled)
    right = rng.choice([r"\{" + ", ".join(map(str, shuffled)) + r"\}", ", ".join(map(str, shuffled))])
    return ref, right, r"\{" + ", ".join(map(str, items[:-1] + [items[-1] + 1])) + r"\}"


def _tuple(rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.randint(-9, 9), rng.randint(-9, 9)
    while b == a:
        b = rng.randint(-9, 9)
    ref = f"({a}, {b})"
    return ref, rng.choice([ref, f"({a},{b})"]), f"({b}, {a})"


def _interval(rng: random.Random) -> tuple[str, str, str]:
    a, b = sorted(rng.sample(range(-20, 20), 2))
    ref = f"[{a}, {b})"
    right = rng.choice([ref, f"[{a},{b})"])
    return ref, right, rng.choice([f"({a}, {b}]", f"[{a}, {b}]", f"({a}, {b})"])


def _pi_multiple(rng: random.Random) -> tuple[str, str, str]:
    k, m = rng.randint(1, 7), rng.choice([2, 3, 4, 6])
    ref = rf"\frac{{{k}\pi}}{{{m}}}"
    right = rng.choice([ref, f"{k}pi/{m}", rf"\frac{{{k}}}{{{m}}}\pi"])
    return ref, right, rng.choice([rf"\frac{{{k + 1}\pi}}{{{m}}}", f"{k / m:.2f}"])


def _scientific(rng: random.Random) -> tuple[str, str, str]:
    mantissa, exponent = rng.randint(11, 99) / 10, rng.randint(3, 8)
    ref = rf"{mantissa}\times10^{{{exponent}}}"
    right = rng.choice([ref, str(int(round(mantissa * 10)) * 10 ** (exponent - 1))])
    return ref, right, rf"{mantissa}\times10^{{{exponent - 1}}}"


def _choice(rng: random.Random) -> tuple[str, str, str]:
    letter = rng.choice("ABCDE")
    other = rng.choice([c for c in "ABCDE" if c != letter])
    return letter, rng.choice([letter, f"({letter})", rf"\text{{({letter})}}"]), f"({other})"


def _negative_power(rng: random.Random) -> tuple[str, str, str]:
    n = rng.randint(3, 60)
    ref = rf"\frac{{1}}{{2^{{{n}}}}}"
    return ref, rng.choice([ref, f"2^{{-{n}}}"]), rng.choice([f"2^{{-{n + 1}}}", rf"\frac{{1}}{{2^{{{n - 1}}}}}"])


def _equation(rng: random.Random) -> tuple[str, str, str]:
    n = rng.randint(-30, 30)
    return str(n), rng.choice([f"x = {n}", str(n)]), f"x = {n + 1}"


KINDS: list[Callable[[random.Random], tuple[str, str, str]]] = [
    _integer, _decimal, _fraction, _radical, _polynomial, _set, _tuple, _interval, _pi_multiple, _scientific,
    _choice, _negative_power, _equation,
]


def build_pairs(n: int, seed: int) -> list[tuple[str, str, str]]:
    """(kind, reference, completion): correct in some equivalent form, or wrong, after reasoning."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        make = KINDS[i % len(KINDS)]
        ref, right, wrong = make(rng)
        answer = right if rng.random() < 0.6 else wrong
        completion = f"{REASONING}So the result is $\\boxed{{{answer}}}$."
        pairs.append((make.__name__.strip("_"), ref, completion))
    return pairs


def run_math_verify(pairs: list[tuple[str, str, str]]) -> tuple[list[float], float]:
    from math_verify import parse, verify

    rewards = []
    start = time.perf_counter()
    for _, ref, completion in pairs:
        gold = parse(f"${ref}$")
        answer = parse(completion)
        rewards.append(1.0 if verify(gold, answer) else 0.0)
    return rewards, time.perf_counter() - start


async def run_rlvr(url: str, pairs: list[tuple[str, str, str]], batch: int = 200) -> tuple[list[float], float]:
    items = [{"reference": ref, "completion": completion} for _, ref, completion in pairs]
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        warm = await client.post("/v1/score/batch", json={"grader": {"type": "math"}, "items": items[:50]})
        warm.raise_for_status()
        start = time.perf_counter()

        async def send(chunk: list[dict]) -> list[float]:
            reply = await client.post("/v1/score/batch", json={"grader": {"type": "math"}, "items": chunk})
            reply.raise_for_status()
            return [r["reward"] for r in reply.json()["results"]]

        chunks = await asyncio.gather(*(send(items[i : i + batch]) for i in range(0, len(items), batch)))
        elapsed = time.perf_counter() - start
    return [r for chunk in chunks for r in chunk], elapsed


async def latencies(url: str, pairs: list[tuple[str, str, str]], clients: int, per_client: int,
                    slow: bool, think_s: float, slow_ms: list[float] | None = None) -> list[float]:
    """Single /v1/score latencies (ms) from `clients` concurrent clients, optionally with slow samples in flight.

    Each client has its own httpx connection (one shared pool costs more client CPU than the server
    does) and waits about `think_s` between its requests (0: closed loop, always one request in flight).
    The slow samples' own grading times (ms) go to `slow_ms`.
    """
    samples: list[float] = []
    rng = random.Random(0)
    stop = asyncio.Event()

    # clients are made up front: each one loads the CA bundle, ~30 ms of CPU that would stall the others
    connections = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(clients + SLOW_SENDERS)]

    async def loop(k: int) -> None:
        client = connections[k]
        for j in range(per_client):
            _, ref, completion = pairs[(k * per_client + j) % len(pairs)]
            start = time.perf_counter()
            reply = await client.post("/v1/score", json={"grader": "math", "completion": completion,
                                                         "reference": ref})
            samples.append((time.perf_counter() - start) * 1000)
            reply.raise_for_status()
            await asyncio.sleep(think_s * (0.5 + rng.random()))

    async def slow_sender(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            reply = await client.post("/v1/score", json=SLOW_REQUEST)
            reply.raise_for_status()
            if slow_ms is not None:
                slow_ms.append(reply.json()["elapsed_ms"])

    background = [asyncio.create_task(slow_sender(c)) for c in connections[clients:]] if slow else []
    if background:
        await asyncio.sleep(0.5)  # let them occupy workers first
    await asyncio.gather(*(loop(k) for k in range(clients)))
    stop.set()
    await asyncio.gather(*background)
    for client in connections:
        await client.aclose()
    return samples


def latency_runs(url: str, pairs: list[tuple[str, str, str]], client_counts: list[int], per_client: int,
                 think_s: float, repeats: int) -> list[dict]:
    """p50/p99 per (clients, slow in flight): the median over `repeats` runs, with the load average around them."""
    rows = []
    for clients in client_counts:
        for slow in (False, True):
            p50s, p99s, loads, slow_ms = [], [], [], []
            for _ in range(repeats):
                loads.append(os.getloadavg()[0])
                values = asyncio.run(latencies(url, pairs, clients, per_client, slow, think_s, slow_ms))
                p50s.append(statistics.median(values))
                p99s.append(percentile(values, 99))
            loads.append(os.getloadavg()[0])
            rows.append({"clients": clients, "slow_in_flight": slow, "requests": clients * per_client,
                         "p50_ms": round(statistics.median(p50s), 1), "p99_ms": round(statistics.median(p99s), 1),
                         "p99_ms_runs": [round(v, 1) for v in p99s], "load_1m": [round(v, 2) for v in loads],
                         "slow_samples_graded_ms": round(statistics.median(slow_ms)) if slow_ms else None})
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--per-client", type=int, default=25)
    parser.add_argument("--think-ms", type=float, default=100, help="Mean pause between a client's requests.")
    parser.add_argument("--repeats", type=int, default=3, help="Latency runs per setting (the median is reported).")
    parser.add_argument("--latency-only", action="store_true", help="Skip the comparison with Math-Verify.")
    args = parser.parse_args()

    pairs = build_pairs(args.pairs, args.seed)
    # ours/peer/ratio: throughput against Math-Verify (None with --latency-only, which skips that comparison)
    result: dict = {"bench": "math", "ours": None, "peer": None, "ratio": None, "unit": "samples/s",
                    "pairs": len(pairs), "cpus": os.cpu_count()}
    with child_service(["serve"], free_port()) as url:
        if not args.latency_only:
            mv_rewards, mv_s = run_math_verify(pairs)
            ours, ours_s = asyncio.run(run_rlvr(url, pairs))
        rows = latency_runs(url, pairs, args.clients, args.per_client, args.think_ms / 1000, args.repeats)

    if not args.latency_only:
        mv_rate, our_rate = len(pairs) / mv_s, len(pairs) / ours_s
        disagree = [(p, m, o) for p, m, o in zip(pairs, mv_rewards, ours, strict=True) if m != o]
        print(f"{'scorer':<34}{'pairs':>7}{'seconds':>10}{'samples/s':>12}{'accuracy':>10}")
        for name, rewards, secs in (("math-verify parse+verify, 1 proc", mv_rewards, mv_s),
                                    ("rlvr /v1/score/batch, default", ours, ours_s)):
            print(f"{name:<34}{len(pairs):>7}{secs:>10.2f}{len(pairs) / secs:>12.0f}"
                  f"{statistics.mean(rewards):>10.3f}")
        print(f"speed ratio rlvr / math-verify: {our_rate / mv_rate:.1f}x")
        print(f"agreement: {1 - len(disagree) / len(pairs):.4f} ({len(disagree)} disagreements)")
        for (kind, ref, completion), m, o in disagree:
            answer = completion[len(REASONING):]
            print(f"  [{kind}] reference {ref!r} | {answer!r} | math-verify {m:.0f} rlvr {o:.0f}")
        result.update({"mathverify_samples_per_s": round(mv_rate, 1), "rlvr_samples_per_s": round(our_rate, 1),
                       "speed_ratio": round(our_rate / mv_rate, 2), "ours": round(our_rate, 1),
                       "peer": round(mv_rate, 1), "ratio": round(our_rate / mv_rate, 2),
                       "agreement": round(1 - len(disagree) / len(pairs), 4), "disagreements": len(disagree)})
    print(f"\nsingle /v1/score, clients pausing ~{args.think_ms:.0f} ms between requests; p50/p99 in ms, the median "
          f"of {args.repeats} runs; when 'slow', {SLOW_SENDERS} more clients send slow math answers back to back "
          "(their median grading time in ms in 'slow ms'):")
    print(f"{'clients':>8}{'slow':>6}{'slow ms':>9}{'n':>7}{'p50':>8}{'p99':>8}   p99 of each run   "
          "load avg (1 min) around runs")
    for row in rows:
        slow_ms = row["slow_samples_graded_ms"]
        print(f"{row['clients']:>8}{'yes' if row['slow_in_flight'] else 'no':>6}{slow_ms or '':>9}{row['requests']:>7}"
              f"{row['p50_ms']:>8.1f}{row['p99_ms']:>8.1f}   {str(row['p99_ms_runs']):<18}{row['load_1m']}")
    result.update({"think_ms": args.think_ms, "repeats": args.repeats, "latency": rows})
    for row in rows:
        suffix = f"{row['clients']}c" + ("_slow" if row["slow_in_flight"] else "")
        result[f"p50_ms_{suffix}"], result[f"p99_ms_{suffix}"] = row["p50_ms"], row["p99_ms"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
