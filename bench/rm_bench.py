"""Reward-model grader throughput: 32 concurrent single requests, dynamic batching in the model server on vs off.

Starts two real `rlvr serve-model` servers of one tiny reward model, `batched` (batch size 32, 5 ms gather
window) and `single` (batch size 1: one forward pass per request), and one real `rlvr serve` in front of
each (`model_servers` points its `reward_model` grader at it). Alternates rounds of each and quotes medians:
through the reward service (what a trainer sees: service -> model server -> forward pass), and straight
at the model servers' /predict (the ceiling without the service's hop). Also quotes each process's peak
RSS: the model lives in the model server, the reward service holds only its tokenizer.

Batching off means off all the way: each grader call sends its own request (spec `batch_size: 1`) and the
model server runs one forward pass per input. The default model (hidden 16, 2 layers) is one whose
forward pass is mostly per-call cost, as a real reward model's is on a GPU; a wider one on CPU spends
most of a batch's time in arithmetic that grows with the batch, and gains less from batching.
Ends with one JSON line. Usage: python -m bench.rm_bench [--hidden 16 --layers 2 --requests 512 --rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import yaml

from sandbox.local import child_service, free_port
from trainer.tiny_heads import save_tiny_head

CONCURRENCY = 32
PROMPT = "Add 17 and 25."


def completion(rng: random.Random) -> str:
    words = ["so", "the", "sum", "is", "we", "add", "carry", "one", "then", "answer", "\\boxed{", "}"]
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))


def scored(reply: Any) -> bool:
    return isinstance(reply, dict) and reply.get("error") is None


def predicted(reply: Any) -> bool:
    return isinstance(reply, list) and len(reply) == 1 and len(reply[0]) == 1


async def _connection(url: str, path: str, requests: list[bytes], ok: Callable[[Any], bool]) -> None:
    """One keep-alive HTTP/1.1 connection sending its share of requests one after another.

    A bare asyncio client: a load generator that costs ~0.1 ms per request, so the servers, not
    the client, are what the two shared cores spend their time on.
    """
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
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
            assert b" 200 " in status and ok(reply), (status, reply)
    finally:
        writer.close()


async def rate(url: str, path: str, bodies: list[bytes], ok: Callable[[Any], bool]) -> float:
    """Requests per second for `bodies`, sent one at a time from each of CONCURRENCY connections."""
    total = len(bodies)
    await _connection(url, path, [bodies[0]], ok)  # warm: first-use loads (the service's tokenizer)
    start = time.perf_counter()
    await asyncio.gather(*(_connection(url, path, bodies, ok) for _ in range(CONCURRENCY)))  # they share `bodies`
    return total / (time.perf_counter() - start)


def score_bodies(total: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [json.dumps({"grader": "rm", "prompt": PROMPT, "completion": completion(rng)}).encode()
            for _ in range(total)]


def predict_bodies(total: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)  # the text the grader renders: no chat template, prompt + completion
    return [json.dumps({"inputs": [[PROMPT + completion(rng)]], "raw_scores": True, "truncate": True,
                        "truncate_prompt_tokens": 256}).encode() for _ in range(total)]


def peak_rss_mb(port: int) -> float:
    """VmHWM of the server listening on `port` (found by its command line)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "--port" in cmdline and str(port) in cmdline:
            with contextlib.suppress(OSError, StopIteration):
                status = Path(f"/proc/{proc.pid}/status").read_text()
                return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in each model server")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=CONCURRENCY, help="the batched model server's batch size")
    args = parser.parse_args()

    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "RLVR_TORCH_THREADS": str(args.threads)}
    rates: dict[str, list[float]] = {f"{path}:{kind}": [] for path in ("service", "direct")
                                     for kind in ("batched", "single")}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        model = str(save_tiny_head(Path(tmp) / "rm", "reward", hidden=args.hidden, layers=args.layers, max_len=512))
        urls: dict[str, tuple[str, str]] = {}
        ports: dict[str, tuple[int, int]] = {}
        for kind, batch in (("batched", args.batch_size), ("single", 1)):
            model_port, service_port = free_port(), free_port()
            model_url = stack.enter_context(child_service(
                ["serve-model", model, "--head", "reward", "--batch-size", str(batch), "--batch-wait-ms", "5"],
                model_port, module="rewards", env=env))
            config = {"server": {"workers": 1, "sandbox_urls": ["http://127.0.0.1:9"],  # no sandbox needed
                                 "model_servers": {model: model_url}},
                      "graders": {"rm": {"type": "reward_model", "model": model, "max_length": 256,
                                         "batch_size": batch}}}  # 1: each call its own request, too
            (Path(tmp) / f"{kind}.yaml").write_text(yaml.safe_dump(config))
            service_url = stack.enter_context(child_service(
                ["serve", "--config", str(Path(tmp) / f"{kind}.yaml")], service_port, module="rewards", env=env))
            urls[kind] = (service_url, model_url)
            ports[kind] = (service_port, model_port)
        for r in range(args.rounds):
            for kind in ("single", "batched"):
                service_url, model_url = urls[kind]
                rates[f"service:{kind}"].append(asyncio.run(rate(service_url, "/v1/score",
                                                                 score_bodies(args.requests, r), scored)))
                rates[f"direct:{kind}"].append(asyncio.run(rate(model_url, "/predict",
                                                                predict_bodies(args.requests, r), predicted)))
        rss = {"service": peak_rss_mb(ports["batched"][0]), "model_server": peak_rss_mb(ports["batched"][1])}

    median = {name: statistics.median(values) for name, values in rates.items()}
    on, off = median["service:batched"], median["service:single"]
    direct = median["direct:batched"] / median["direct:single"]
    params = (f"llama hidden={args.hidden} layers={args.layers}, byte tokens ~35-70/input, "
              f"{args.threads} torch thread(s)")
    print(f"reward_model grader, {CONCURRENCY} concurrent single requests, {params}, "
          f"{args.requests} requests x {args.rounds} rounds")
    print(f"{'path':<34}{'batching':<10}{'median completions/s':>22}{'rounds':>42}")
    for path, label in (("service", "rlvr serve -> rlvr serve-model"), ("direct", "rlvr serve-model /predict")):
        for kind, on_off in (("batched", "on"), ("single", "off")):
            runs = ", ".join(f"{x:.1f}" for x in rates[f"{path}:{kind}"])
            print(f"{label:<34}{on_off:<10}{median[f'{path}:{kind}']:>22.1f}{runs:>42}")
    print(f"speedup from dynamic batching: {on / off:.2f}x through the reward service, {direct:.2f}x at the model "
          f"server; peak RSS: reward service {rss['service']:.0f} MB, model server {rss['model_server']:.0f} MB")
    print(json.dumps({"bench": "rm_bench", "ours": round(on, 1), "peer": round(off, 1), "ratio": round(on / off, 2),
                      "unit": "completions/s",
                      "peer_is": "batching off: each call its own request, one forward pass per input",
                      "completions_per_s_batched": round(on, 1), "completions_per_s_unbatched": round(off, 1),
                      "speedup": round(on / off, 2), "speedup_at_model_server": round(direct, 2),
                      "peak_rss_mb_service": round(rss["service"]),
                      "peak_rss_mb_model_server": round(rss["model_server"]),
                      "concurrency": CONCURRENCY, "model": params}))


if __name__ == "__main__":
    main()
