"""`rlvr leakage` at scale: synthetic train items streamed against 10k eval items, against a naive check.

Eval items are 20-60 random words from a 3000-word vocabulary; 1% of the train items are planted copies of
eval items (half re-cased and re-punctuated, half with one word in ten replaced), the rest are fresh. Ours
(13-gram index + MinHash/LSH, `trainer.leakage.check_leakage`, clean rows written to /dev/null) streams every
train item once; we report items/s, recall of the plants, and peak RSS after indexing the eval set and after
the stream (flat: the train set is never held). The peer is the naive exact check, in the same run: each train
item's 13-gram set intersected with every eval item's, on a slice of the train items; its exact verdicts on
that slice must equal ours. Times for 1M train items are extrapolated from the measured rate unless
`--train 1000000` is given. `--embed-url URL` adds the paraphrase check (an embedding server, e.g. `rlvr serve-model
MODEL --head embed --batch-size 64`): its time is the embedding of every eval and train prompt (on random words,
its flags are not a measure of anything). Ends with one JSON line.
Usage: python -m bench.leakage_bench [--train 100000] [--embed-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from collections.abc import Iterator

from trainer.leakage import Item, LeakageOptions, check_leakage, ngrams, words

PLANT_EVERY = 100  # 1% of the train items copy an eval item


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _text(rng: random.Random, vocab: list[str]) -> str:
    return " ".join(rng.choices(vocab, k=rng.randint(20, 60))) + "?"


def _plant(rng: random.Random, text: str, reword: bool) -> str:
    if not reword:
        return text.upper().replace(" ", ", ", 3)
    tokens = text.split()
    for position in range(rng.randrange(10), len(tokens), 10):
        tokens[position] = "replaced"
    return " ".join(tokens)


def train_items(count: int, eval_texts: list[str], vocab: list[str], seed: int) -> Iterator[Item]:
    """The train stream, generated lazily; planted items are keyed `plant:<eval index>`."""
    rng = random.Random(seed)
    for i in range(count):
        if i % PLANT_EVERY == PLANT_EVERY - 1:
            target = rng.randrange(len(eval_texts))
            text = _plant(rng, eval_texts[target], reword=i % (2 * PLANT_EVERY) == PLANT_EVERY - 1)
            yield Item(f"plant:{target}:{i}", text, None, {"prompt": text})
        else:
            text = _text(rng, vocab)
            yield Item(f"train:{i}", text, None, {"prompt": text})


def naive_exact(train: list[Item], eval_texts: list[str], n: int) -> tuple[set[str], float]:
    """The peer: every train item's n-gram set intersected with every eval item's; flagged keys and items/s."""
    start = time.perf_counter()
    eval_sets = [ngrams(words(text), n) for text in eval_texts]
    flagged = {item.key for item in train
               if any(grams & eval_grams for grams in [ngrams(words(item.prompt), n)] for eval_grams in eval_sets)}
    return flagged, len(train) / (time.perf_counter() - start)


def main() -> None:
    """Run ours on the whole stream and the peer on a slice; print the table and the JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--eval", type=int, default=10_000)
    parser.add_argument("--peer-items", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embed-url", default=None, help="An embedding server: adds the paraphrase check.")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    vocab = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(3000)]
    eval_texts = [_text(rng, vocab) for _ in range(args.eval)]
    options = LeakageOptions(embed_url=args.embed_url)
    evals = [Item(f"eval:{i}", text, None, {}) for i, text in enumerate(eval_texts)]
    rss: list[float] = []
    clock: list[float] = []

    def stream() -> Iterator[Item]:
        rss.append(_rss_mib())  # the first item is asked for once the eval set is indexed
        clock.append(time.perf_counter())
        yield from train_items(args.train, eval_texts, vocab, args.seed + 1)

    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        report = check_leakage(stream(), evals, options, sink)
    seconds = time.perf_counter() - clock[0]
    index_seconds = clock[0] - start
    rss_end = _rss_mib()
    ours_rate = args.train / seconds
    flagged = {m["train"] for matches in report.matches.values() for m in matches}
    planted = args.train // PLANT_EVERY
    found = sum(key.startswith("plant:") for key in flagged)
    false_flags = sum(not key.startswith("plant:") for key in flagged)

    head = list(train_items(args.peer_items, eval_texts, vocab, args.seed + 1))
    peer_flagged, peer_rate = naive_exact(head, eval_texts, options.n)
    with open(os.devnull, "w") as sink:
        slice_report = check_leakage(head, evals, LeakageOptions(near_threshold=None), sink)
    ours_exact = {m["train"] for matches in slice_report.matches.values() for m in matches}

    measured_1m = args.train >= 1_000_000
    print(f"\n{'check':34} {'train items/s':>14} {'1M train items':>16}")
    ours_name = "rlvr leakage (13-gram + MinHash" + (" + embeddings)" if args.embed_url else ")")
    print(f"{ours_name:34} {ours_rate:>14,.0f} {1e6 / ours_rate / 60:>12.1f} min"
          f"{'' if measured_1m else ' (extrapolated)'}")
    print(f"{'naive pairwise 13-gram sets':34} {peer_rate:>14,.1f} {1e6 / peer_rate / 3600:>12.1f} h (extrapolated)")
    print(f"train {args.train:,} x eval {args.eval:,} in {seconds:.1f}s (+{index_seconds:.1f}s indexing the eval set); plants found {found}/{planted}, "
          f"unplanted items flagged {false_flags}; peak RSS {rss[0]:.0f} MiB with the eval set indexed, {rss_end:.0f} MiB "
          f"after; exact verdicts equal to the naive check on {len(head)} items: {peer_flagged == ours_exact}")
    print(json.dumps({
        "bench": "leakage_stream", "paraphrase_check": args.embed_url is not None, "ours": round(ours_rate), "peer": round(peer_rate, 1),
        "ratio": round(ours_rate / peer_rate, 1), "unit": "train items/s (ratio: ours/peer)",
        "train_items": args.train, "eval_items": args.eval, "seconds": round(seconds, 1),
        "eval_index_seconds": round(index_seconds, 1),
        "minutes_for_1m_train": round(1e6 / ours_rate / 60, 2), "minutes_for_1m_extrapolated": not measured_1m,
        "plants": planted, "plants_found": found, "unplanted_flagged": false_flags,
        "peak_rss_mib_eval_indexed": round(rss[0]), "peak_rss_mib_after_stream": round(rss_end),
        "peer_items": len(head), "exact_verdicts_equal_to_peer": peer_flagged == ours_exact,
    }))


if __name__ == "__main__":
    main()
