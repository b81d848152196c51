"""The format grader's think-tag check against TRL's `think_format_reward`: exploit verdicts and speed.

Both judge the same format: a `<think>...</think>` block at the start, then the answer. Ours is the
spec below (tags check with content required, nothing before `<think>`). A labelled suite of honest
and reward-hacking completions shows which exploits each one pays for; then both score the same
mixed batch in-process, several rounds, and we quote medians and the time ratio.
Ends with one JSON line. Usage: python -m bench.format_bench [--samples 4000 --rounds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from trl.rewards import think_format_reward

from rewards.graders import parse_spec
from rewards.graders.format import score
from rewards.types import Sample

SPEC = parse_spec({"type": "format", "aggregate": "all", "checks": [
    {"kind": "tags", "tags": ["think"], "allow_outside": True},
    {"kind": "regex", "pattern": r"\A<think>", "mode": "search"},
    {"kind": "regex", "pattern": r"</think>\s*\S", "mode": "search"},
]})

# (completion, should it earn the format reward?)
SUITE: list[tuple[str, bool]] = [
    ("<think>\nAdd 2 and 2.\n</think>\nThe answer is 4.", True),
    ("<think>short</think>4", True),
    ("<think>\nmulti\nline\n</think>\n\nAnswer: 4", True),
    ("<think></think>4", False),                                  # empty reasoning
    ("<think>   \n</think>4", False),                             # whitespace-only reasoning
    ("<think>a</think></think>4", False),                         # stray closing tag
    ("<think>a</think>4</think>", False),                         # stray closing tag in the answer
    ("<think>a<think>b</think>4", False),                         # nested opening
    ("<think>a</think>4<think>b</think>5", False),                # a second block
    ("Sure!<think>a</think>4", False),                            # text before the block
    ("<think>a", False),                                          # never closed
    ("4", False),
    ("", False),
]


def ours(completions: list[str]) -> list[float]:
    return [score(SPEC, Sample(completion=c)).reward for c in completions]


def trl(completions: list[str]) -> list[float]:
    return think_format_reward([[{"content": c}] for c in completions])


def batch(n: int, seed: int) -> list[str]:
    """Realistic completions: mostly well-formed reasoning of 50-400 words, some broken."""
    rng = random.Random(seed)
    words = "so we add the carry then multiply both sides by two and check the result again".split()
    out = []
    for _ in range(n):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(50, 400)))
        out.append(f"<think>\n{body}\n</think>\nThe answer is {rng.randint(0, 999)}."
                   if rng.random() < 0.8 else rng.choice(SUITE)[0] + body)
    return out


def timed(fn, completions: list[str]) -> float:
    start = time.perf_counter()
    fn(completions)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    texts, labels = [c for c, _ in SUITE], [ok for _, ok in SUITE]
    verdicts = {"rlvr format": ours(texts), "trl think_format_reward": trl(texts)}
    print(f"{'completion':44} {'want':>5} {'rlvr':>5} {'trl':>5}")
    for text, want, a, b in zip(texts, labels, *verdicts.values(), strict=True):
        print(f"{json.dumps(text)[:44]:44} {int(want):>5} {int(a):>5} {int(b):>5}")
    correct = {name: sum(float(ok) == v for ok, v in zip(labels, vs, strict=True)) for name, vs in verdicts.items()}
    exploits = [i for i, ok in enumerate(labels) if not ok]
    paid = {name: sum(vs[i] > 0 for i in exploits) for name, vs in verdicts.items()}

    completions = batch(args.samples, seed=0)
    ours(completions[:100]), trl(completions[:100])  # warm caches
    times: dict[str, list[float]] = {"rlvr format": [], "trl think_format_reward": []}
    for _ in range(args.rounds):  # alternate so both see the same machine noise
        times["rlvr format"].append(timed(ours, completions))
        times["trl think_format_reward"].append(timed(trl, completions))
    per_sample_us = {name: statistics.median(ts) / args.samples * 1e6 for name, ts in times.items()}
    agreement = sum(a == b for a, b in zip(ours(completions), trl(completions), strict=True)) / args.samples

    print(f"\n{'grader':26} {'suite correct':>14} {'exploits paid':>14} {'median us/sample':>17}")
    for name in verdicts:
        print(f"{name:26} {correct[name]:>9}/{len(SUITE):<4} {paid[name]:>9}/{len(exploits):<4} "
              f"{per_sample_us[name]:>17.1f}")
    ratio = per_sample_us["rlvr format"] / per_sample_us["trl think_format_reward"]
    print(f"time ratio rlvr/trl: {ratio:.2f}x; verdict agreement on the mixed batch: {agreement:.3f}")
    print(json.dumps({
        "bench": "format_think_vs_trl", "ours": round(per_sample_us["rlvr format"], 1),
        "peer": round(per_sample_us["trl think_format_reward"], 1), "ratio": round(ratio, 2), "unit": "us/sample",
        "samples": args.samples, "rounds": args.rounds,
        "suite_size": len(SUITE), "rlvr_suite_correct": correct["rlvr format"],
        "trl_suite_correct": correct["trl think_format_reward"], "rlvr_exploits_paid": paid["rlvr format"],
        "trl_exploits_paid": paid["trl think_format_reward"], "rlvr_us_per_sample": round(per_sample_us["rlvr format"], 1),
        "trl_us_per_sample": round(per_sample_us["trl think_format_reward"], 1), "time_ratio_rlvr_over_trl": round(ratio, 2),
        "mixed_batch_agreement": round(agreement, 3),
    }))


if __name__ == "__main__":
    main()
