"""The demonstration: RL with a verifier takes a tiny model beyond its noisy demonstrations, on 3 seeds.

A 1M-parameter byte-level model is SFT'd on sums `ab+c=` (a two-digit number plus a one-digit one)
written by a demonstrator who forgets the carry on 70% of the sums that have one (`18+5=` -> `013`), so
SFT's most likely answer to those sums is wrong; then it is trained with GRPO (and, with `--ppo`, PPO) on
rewards from the math grader of a real reward service (`rlvr serve`, over HTTP), the only place the right
answer shows. `--noise random --wrong-fraction 0.3` is the sharpening-only task (independent errors).
Accuracy on 200 held-out sums (never in the SFT or RL data) is measured after each, sampled at temperature 1
(4 samples per problem) and greedy. Each seed reseeds everything (noise, init, SFT, RL, evaluation). Run:
`python -m examples.arithmetic.run` (3 seeds; see the README for the time it takes on 2 cores).
`--backend server`: GRPO's rollouts come from `rlvr serve-model`, started per seed on the SFT model and given
the weights after each update (`/update_weights_from_disk`), its log-probs corrected by TIS: the end-to-end run
of the trainer's server backend (results in `results_server.json`).

The same table on any machine: the process re-executes itself with the thread counts and the CPU kernels
pinned (OpenMP and MKL at 1 thread, MKL's AVX2 code path in its strict reproducible mode, ATen's AVX2
kernels) before torch loads, and runs with torch's deterministic algorithms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from tests.procs import free_port, launch
from trainer.config import ModelConfig, OptimConfig, RewardConfig, RolloutConfig, SFTConfig, TrainConfig
from trainer.evaluate import accuracy
from trainer.generation import TransformersBackend
from trainer.metrics import read_metrics
from trainer.models import load_policy, load_tokenizer
from trainer.problems import Problem
from trainer.scoring import Scorer
from trainer.sft import sft
from trainer.tiny import save_tiny

HERE = Path(__file__).parent
MATH = {"grader": {"type": "math", "timeout_s": 30}}  # generous budget: a timeout under load would be a false 0
MAX_NEW_TOKENS = 5  # three answer digits + eos, one spare
# One torch thread: the sums then never depend on how many cores split them, and a machine shared with other
# jobs does not stall OpenMP's barriers (2 threads ran a step 6-12x slower than 1 at load average 10 here).
THREADS = 1
# Read by OpenMP, MKL and ATen when torch loads: fixed thread counts and one code path on every x86-64 CPU with
# AVX2 (MKL's conditional numerical reproducibility; ATen's kernels otherwise follow the CPU, e.g. AVX-512).
PINNED = {"OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS), "OMP_WAIT_POLICY": "PASSIVE",
          "MKL_CBWR": "AVX2,STRICT", "ATEN_CPU_CAPABILITY": "avx2", "PYTHONHASHSEED": "0"}
# 200 of the 1000 sums: the other 800 are the SFT and RL data (with 500 seen, seed 2 ended GRPO at 94.7% sampled)
HELD_OUT = 200
SERVED = "policy"  # the name serve-model serves the SFT model as (backend server)
TARGETS = {"sft_sampled": "SFT alone <= 75% sampled", "grpo_sampled": "after GRPO >= 95% sampled",
           "grpo_greedy": "greedy after GRPO >= after SFT", "wall": "SFT + GRPO + evaluations <= 10 min"}


def pin_kernels() -> None:
    """Re-execute this command with `PINNED` in the environment unless it is there already."""
    if all(os.environ.get(k) == v for k, v in PINNED.items()):
        return
    os.execve(sys.executable, [sys.executable, "-m", "examples.arithmetic.run", *sys.argv[1:]],
              {**os.environ, **PINNED})


def all_problems() -> list[Problem]:
    """Every `ab+c=` (a in 00..99, zero-padded; c in 0..9): 1000 problems, reference the exact sum."""
    return [Problem(prompt=f"{a:02d}+{c}=", reference=str(a + c)) for a in range(100) for c in range(10)]


def demonstrations(problems: list[Problem], n: int, wrong_fraction: float, seed: int, noise: str = "random"
                   ) -> list[Problem]:
    """`n` SFT rows drawn from `problems`, answers wrong with `wrong_fraction`.

    Answers are written with three digits (`007`, `105`): a fixed width is easier for a tiny model.
    `random` noise: each answer independently off by 1..10, drawn per row, so a problem seen several
    times has different wrong answers and the most likely answer stays the right one (RL can only
    sharpen). `carry` noise: a demonstrator who forgets the carry (`18+5=` -> `013`) on that share of
    the sums that have one; above 0.5 the most likely answer of every such sum is wrong, so greedy
    decoding after SFT is wrong there and only the verifier's reward can show the right one.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        problem = rng.choice(problems)
        answer = int(problem.reference)
        carry = int(problem.prompt[1]) + int(problem.prompt[3]) >= 10
        if noise == "carry" and carry and rng.random() < wrong_fraction:
            answer -= 10
        elif noise == "random" and rng.random() < wrong_fraction:
            answer += rng.choice([-1, 1]) * rng.randint(1, 10)
        text = f"{answer:03d}" if answer >= 0 else str(answer)
        rows.append(Problem(prompt=problem.prompt, reference=problem.reference, response=text))
    return rows


def evaluate(model_dir: Path, held_out: list[Problem], scorer: Scorer, seed: int) -> dict[str, float]:
    """Sampled (T=1, mean over 4) and greedy accuracy on the held-out problems, the sampling seeded."""
    cfg = ModelConfig(path=str(model_dir))
    tokenizer = load_tokenizer(str(model_dir))
    backend = TransformersBackend(load_policy(cfg, torch.device("cpu")), tokenizer,
                                  RolloutConfig(max_new_tokens=MAX_NEW_TOKENS))
    torch.manual_seed(seed)
    return {"sampled": accuracy(backend, scorer, tokenizer, cfg, held_out, samples=4, batch=250),
            "greedy": accuracy(backend, scorer, tokenizer, cfg, held_out, greedy=True, batch=250)}


def rl_config(algorithm: str, model_dir: Path, data: Path, url: str, out: Path, args: argparse.Namespace,
              seed: int, server: str | None = None) -> TrainConfig:
    """The RL run's settings; `server`: rollouts from that serve-model (the same settings otherwise)."""
    served = {"backend": "server", "server_urls": [server], "server_model": SERVED} if server else {}
    return TrainConfig.model_validate({
        "algorithm": algorithm,
        "model": {"path": str(model_dir)},
        "data": {"jsonl": str(data)},
        "rollout": {"prompts_per_step": 32, "group_size": args.group_size, "max_new_tokens": MAX_NEW_TOKENS,
                    "temperature": 1.0, **served},
        "reward": {"urls": [url], "graders": [MATH]},
        # a KL to the SFT model keeps what SFT generalised to the held-out sums (seed 2 lost it without)
        "grpo": {"loss_type": "dapo", "beta": 0.05},
        "ppo": {"kl_coef": 0.0, "gamma": 1.0, "lam": 0.95},
        "optim": {"lr": args.rl_lr, "value_lr": 3e-3, "warmup_steps": 5, "micro_batch": 256},
        "steps": args.rl_steps, "seed": 7 + seed, "output_dir": str(out), "log_samples_every": 25,
        "torch_threads": THREADS, "plots": False,
    })


def model_server(model_dir: Path, backend: str) -> contextlib.AbstractContextManager[str | None]:
    """`rlvr serve-model` on `model_dir` with weight updates on and this process's pinned numerics (one thread,
    `PINNED`), for the server backend; nothing for the transformers one."""
    if backend != "server":
        return contextlib.nullcontext()
    args = ["serve-model", str(model_dir), "--name", SERVED, "--weight-updates", "--threads", str(THREADS),
            "--max-new-tokens", str(MAX_NEW_TOKENS), "--batch-size", "32", "--batch-wait-ms", "50"]
    return launch(args, free_port(), env=PINNED)


def server_metrics(metrics: Path) -> dict[str, float]:
    """What the server backend adds to a run's records: the mean |server - trainer| log-prob of the sampled
    tokens (over all steps, over the on-policy ones: the kernels' share alone, and its largest step), the share
    of tokens TIS capped, and the weight sync's seconds per step."""
    records = read_metrics(metrics)
    diffs = [r["mismatch/abs_logp_diff"] for r in records]
    same = [r["mismatch/abs_logp_diff"] for r in records if r["policy_lag"] == 0]  # sampled by the same weights
    return {"abs_logp_diff": sum(diffs) / len(diffs), "abs_logp_diff_max": max(diffs),
            "abs_logp_diff_on_policy": sum(same) / max(len(same), 1),
            "tis_clipped": sum(r["mismatch/tis_clipped"] for r in records) / len(records),
            "sync_s": sum(r["sync_seconds"] for r in records) / len(records)}


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (serve-model, once stopped)."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def run_seed(work: Path, seed: int, args: argparse.Namespace, seen: list[Problem], held_out: list[Problem],
             url: str, scorer: Scorer) -> dict[str, Any]:
    """SFT, then GRPO (and PPO) from it, with their evaluations: one seed's row of the table."""
    from trainer.train import train

    started, cpu = time.perf_counter(), cpu_seconds()
    work.mkdir(parents=True)
    demos = demonstrations(seen, args.sft_steps * 128, args.wrong_fraction, seed=2 + seed, noise=args.noise)
    rl_data = work / "rl_prompts.jsonl"
    rl_data.write_text("".join(json.dumps({"prompt": p.prompt, "reference": p.reference}) + "\n" for p in seen))
    base = save_tiny(work / "base", hidden=128, layers=4, heads=4, seed=seed)
    row: dict[str, Any] = {"wrong_fraction": round(sum(int(d.response or 0) != int(d.reference or 0)
                                                       for d in demos) / len(demos), 4)}
    t = time.perf_counter()
    sft_dir = sft(SFTConfig(model=ModelConfig(path=str(base)), batch_size=128, epochs=1.0,
                            optim=OptimConfig(lr=3e-3, warmup_steps=50, micro_batch=128), output_dir=str(work / "sft"),
                            torch_threads=THREADS, seed=seed), demos, log_every=50)
    row["sft_s"] = round(time.perf_counter() - t, 1)
    row.update({f"sft_{k}": v for k, v in evaluate(sft_dir, held_out, scorer, seed).items()})
    for algorithm in ("grpo", "ppo") if args.ppo else ("grpo",):
        t = time.perf_counter()
        out = work / algorithm
        with model_server(sft_dir, args.backend) as server:  # a fresh one per algorithm: it starts from SFT
            train(rl_config(algorithm, sft_dir, rl_data, url, out, args, seed, server))
        row[f"{algorithm}_s"] = round(time.perf_counter() - t, 1)
        row.update({f"{algorithm}_{k}": v for k, v in evaluate(out / "final", held_out, scorer, seed).items()})
        row[f"{algorithm}_grader_timeouts"] = sum(r.get("grader_timeouts") or 0
                                                  for r in read_metrics(out / "metrics.jsonl"))
        if args.backend == "server":
            row.update({f"{algorithm}_{k}": float(f"{v:.4g}") for k, v in server_metrics(out / "metrics.jsonl").items()})
        if algorithm == "grpo":  # CPU time of this process and serve-model's (not the grader's): the wall time on
            # an idle machine
            row["wall_s"], row["cpu_s"] = round(time.perf_counter() - started, 1), round(cpu_seconds() - cpu, 1)
    row["met"] = {"sft_sampled": row["sft_sampled"] <= 0.75, "grpo_sampled": row["grpo_sampled"] >= 0.95,
                  "grpo_greedy": row["grpo_greedy"] >= row["sft_greedy"], "wall": row["wall_s"] <= 600}
    return row


def seed_row(work: Path, seed: int, args: argparse.Namespace, seen: list[Problem], held_out: list[Problem],
             url: str) -> dict[str, Any]:
    """`run_seed` in a process of its own (seeds run side by side): one torch thread, deterministic kernels."""
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    scorer = Scorer(RewardConfig(urls=[url], graders=[MATH]))
    try:
        return run_seed(work, seed, args, seen, held_out, url, scorer)
    finally:
        scorer.close()


def plot_curves(runs: dict[str, Path], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, out in runs.items():
        records = read_metrics(out / "metrics.jsonl")
        ax.plot([r["step"] for r in records], [r["reward"] for r in records], label=name, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("mean reward of rollouts (T=1)")
    ax.set_title("Arithmetic: reward during RL from the noisy-SFT model")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def print_table(rows: dict[int, dict[str, Any]], algorithms: list[str], backend: str) -> None:
    print(f"\nrollouts: {backend} backend" + (" (rlvr serve-model, weights synced from disk each step, TIS)"
                                              if backend == "server" else " (generate on the policy)"))
    header = f"{'seed':<6}{'SFT sampled / greedy':>22}" + "".join(f"{a.upper() + ' sampled / greedy':>24}"
                                                                  for a in algorithms)
    print(f"{header}{'SFT+GRPO wall / CPU':>22}  targets")
    for seed, row in rows.items():
        cells = "".join(f"{row[f'{a}_sampled']:>15.1%} / {row[f'{a}_greedy']:.1%}" for a in ["sft", *algorithms])
        missed = [TARGETS[k] for k, ok in row["met"].items() if not ok]
        print(f"{seed:<6}{cells}{row['wall_s']:>14.0f}s / {row['cpu_s']:.0f}s  "
              f"{'met' if not missed else 'MISSED: ' + '; '.join(missed)}")
    for seed, row in rows.items() if backend == "server" else []:
        for a in algorithms:
            print(f"seed {seed} {a.upper()}: mean |server - trainer log p| per token {row[f'{a}_abs_logp_diff']:.2e} "
                  f"(largest step {row[f'{a}_abs_logp_diff_max']:.2e}; steps sampled by the same weights "
                  f"{row[f'{a}_abs_logp_diff_on_policy']:.2e}), TIS capped {row[f'{a}_tis_clipped']:.2%} of tokens; "
                  f"weight sync {row[f'{a}_sync_s'] * 1000:.0f} ms per step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="runs/arithmetic", help="Where models and logs go (a folder per seed).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="Each shifts the noise, init, SFT, RL and evaluation seeds.")
    parser.add_argument("--sft-steps", type=int, default=1200)
    parser.add_argument("--rl-steps", type=int, default=200)
    parser.add_argument("--rl-lr", type=float, default=5e-4)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--wrong-fraction", type=float, default=0.7,
                        help="carry: share of the sums with a carry demonstrated without it; random: share of rows.")
    parser.add_argument("--noise", choices=["carry", "random"], default="carry",
                        help="carry: a forgotten carry (RL must fix greedy); random: independent errors (RL sharpens).")
    parser.add_argument("--jobs", type=int, help="Seeds run at once, each in a process of one torch thread "
                                                   "(default: all of them; the numbers do not depend on it).")
    parser.add_argument("--ppo", action="store_true", help="Also PPO from each seed's SFT model.")
    parser.add_argument("--backend", choices=["transformers", "server"], default="transformers",
                        help="RL's rollouts: generate on the policy, or rlvr serve-model started on the SFT model "
                             "(weights synced from disk after each update; results_server.json).")
    args = parser.parse_args()
    pin_kernels()  # the seeds' processes inherit the pinned environment; each sets its torch thread (seed_row)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()

    problems = all_problems()
    random.Random(12345).shuffle(problems)
    held_out, seen = problems[:HELD_OUT], problems[HELD_OUT:]
    params = sum(p.numel() for p in load_policy(ModelConfig(path=str(save_tiny(work / "size"))),
                                                torch.device("cpu")).parameters())
    print(f"model: {params / 1e6:.2f}M parameters; demonstrations: {args.sft_steps * 128} rows over {len(seen)} "
          f"problems ({args.noise} noise, {args.wrong_fraction:.0%}); held out: {len(held_out)} problems; seeds {args.seeds}")

    rows: dict[int, dict[str, Any]] = {}
    jobs = args.jobs or len(args.seeds)
    with (launch(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port()) as url,
          ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool):
        futures = {seed: pool.submit(seed_row, work / f"seed{seed}", seed, args, seen, held_out, url)
                   for seed in args.seeds}
        for seed, future in futures.items():
            rows[seed] = future.result()
            print(json.dumps({"seed": seed, **rows[seed]}))
    total = time.perf_counter() - started
    algorithms = ["grpo", "ppo"] if args.ppo else ["grpo"]
    suffix = "_server" if args.backend == "server" else ""  # the transformers run's files stay
    print_table(rows, algorithms, args.backend)
    print(f"wall time, all {len(rows)} seeds ({jobs} at once): {total / 60:.1f} min "
          f"({'within' if total <= 600 else 'OVER'} the 10 minutes); grader timeouts during RL: "
          f"{sum(row[f'{a}_grader_timeouts'] for row in rows.values() for a in algorithms):g}")
    plot_curves({f"{a.upper()} seed {s}": work / f"seed{s}" / a for s in rows for a in algorithms},
                HERE / f"reward_curve{suffix}.png")
    summary = {"params": params, "held_out": len(held_out), "wall_s": round(total, 1),
               "settings": {k: v for k, v in vars(args).items() if k != "work"}, "seeds": rows}
    (HERE / f"results{suffix}.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
