"""Reward-model grader throughput through HTTP: 32 concurrent single requests, dynamic batching on vs off.

Starts one real `rlvr serve` with two named graders on the same model (loaded once): `batched`
(batch_size 32, 5 ms gather window) and `single` (batch_size 1, i.e. one forward pass per request).
Alternates rounds of each, quotes medians, and the server's peak RSS with the model loaded; then the
same load straight into the grader in this process, to show the ceiling without HTTP.
Ends with one JSON line. Usage: python bench/rm_bench.py [--hidden 64 --layers 2 --requests 512 --rounds 5 --threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.procs import free_port, launch  # noqa: E402
from trainer.tiny_heads import save_tiny_head  # noqa: E402

CONCURRENCY = 32


def completion(rng: random.Random) -> str:
    words = ["so", "the", "sum", "is", "we", "add", "carry", "one", "then", "answer", "\\boxed{", "}"]
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))


async def _connection(host: str, port: int, requests: list[bytes], path: str) -> None:
    """One keep-alive HTTP/1.1 connection sending its share of requests one after another.

    A bare asyncio client: a load generator that costs ~0.1 ms per request, so the server, not
    the client, is what the two shared cores spend their time on.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while requests:
            body = requests.pop()
            head = f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            writer.write(head.encode() + f"content-length: {len(body)}\r\n\r\n".encode() + body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reply = json.loads(await reader.readexactly(length))
            assert b" 200 " in status and reply["error"] is None, (status, reply)
    finally:
        writer.close()


async def round_trip(url: str, grader: str, total: int, seed: int) -> float:
    """Completions per second for `total` single requests from CONCURRENCY concurrent connections."""
    rng = random.Random(seed)
    bodies = [json.dumps({"grader": grader, "prompt": "Add 17 and 25.", "completion": completion(rng)}).encode()
              for _ in range(total)]
    host, port = url.removeprefix("http://").split(":")
    await _connection(host, int(port), [bodies[0]], "/v1/score")  # warm: the model loads on first use
    start = time.perf_counter()
    await asyncio.gather(*(_connection(host, int(port), bodies, "/v1/score") for _ in range(CONCURRENCY)))
    return total / (time.perf_counter() - start)


async def in_process(spec: dict, total: int, seed: int) -> float:
    """The same load straight into the grader (no HTTP): where the ceiling of the model path is."""
    from rewards.graders import parse_spec
    from rewards.graders.base import GraderContext
    from rewards.graders.reward_model import RewardModelGrader
    from rewards.types import Sample

    grader = RewardModelGrader(parse_spec(spec), GraderContext(pool=None))  # type: ignore[arg-type]
    rng = random.Random(seed)
    samples = [Sample(prompt="Add 17 and 25.", completion=completion(rng)) for _ in range(total)]
    await grader.grade(samples[:1])

    async def client() -> None:
        while samples:
            (score,) = await grader.grade([samples.pop()])
            assert score.error is None, score.error

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return total / (time.perf_counter() - start)


def server_peak_rss_mb(port: int) -> float:
    for proc in psutil.Process().children(recursive=True):
        try:
            if str(port) in proc.cmdline() and "serve" in proc.cmdline():
                status = Path(f"/proc/{proc.pid}/status").read_text()
                return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
        except (psutil.Error, OSError, StopIteration):
            continue
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = save_tiny_head(Path(tmp) / "rm", "reward", hidden=args.hidden, layers=args.layers, max_len=512)
        spec = {"type": "reward_model", "model": str(model), "max_length": 256}
        config = {"server": {"workers": 1}, "graders": {
            "batched": {**spec, "batch_size": CONCURRENCY, "batch_wait_ms": 5},
            "single": {**spec, "batch_size": 1}}}
        (Path(tmp) / "rlvr.yaml").write_text(yaml.safe_dump(config))
        port = free_port()
        env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "RLVR_TORCH_THREADS": str(args.threads)}
        rates: dict[str, list[float]] = {"batched": [], "single": []}
        with launch(["serve", "--config", str(Path(tmp) / "rlvr.yaml")], port, env=env) as url:
            for r in range(args.rounds):
                for grader in ("single", "batched"):
                    rates[grader].append(asyncio.run(round_trip(url, grader, args.requests, seed=r)))
            rss = server_peak_rss_mb(port)
        os.environ["RLVR_TORCH_THREADS"] = str(args.threads)
        local: dict[str, list[float]] = {"batched": [], "single": []}
        for r in range(args.rounds):
            for grader in ("single", "batched"):
                local[grader].append(asyncio.run(in_process(config["graders"][grader], args.requests, seed=r)))

    on, off = statistics.median(rates["batched"]), statistics.median(rates["single"])
    local_on, local_off = statistics.median(local["batched"]), statistics.median(local["single"])
    params = f"llama hidden={args.hidden} layers={args.layers}, byte tokens ~35-70/input, {args.threads} torch thread(s)"
    print(f"reward_model grader via HTTP, {CONCURRENCY} concurrent single requests, {params}, "
          f"{args.requests} requests x {args.rounds} rounds")
    print(f"{'path':<12}{'batching':<10}{'median completions/s':>22}{'rounds':>42}")
    for path, table in (("HTTP", rates), ("in-process", local)):
        for name, label in (("batched", "on"), ("single", "off")):
            runs = ", ".join(f"{x:.1f}" for x in table[name])
            print(f"{path:<12}{label:<10}{statistics.median(table[name]):>22.1f}{runs:>42}")
    print(f"speedup from dynamic batching: {on / off:.2f}x through HTTP, {local_on / local_off:.2f}x in-process; "
          f"server peak RSS with the model loaded: {rss:.0f} MB")
    print(json.dumps({"bench": "rm_bench", "completions_per_s_batched": round(on, 1),
                      "completions_per_s_unbatched": round(off, 1), "speedup": round(on / off, 2),
                      "speedup_in_process": round(local_on / local_off, 2), "peak_rss_mb": round(rss),
                      "concurrency": CONCURRENCY, "model": params}))


if __name__ == "__main__":
    main()
