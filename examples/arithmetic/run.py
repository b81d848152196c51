"""The demonstration: RL with a verifier takes a tiny model beyond its noisy demonstrations.

A 1M-parameter byte-level model is SFT'd on two-digit sums in which 30% of the answers are wrong,
then trained with GRPO (and, separately, PPO) on rewards from the math grader of a real reward
service. Accuracy on 500 held-out sums is measured after each, sampled at temperature 1 (4 samples
per problem) and greedy. Run: `python -m examples.arithmetic.run` (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from tests.procs import free_port, launch
from trainer.config import ModelConfig, OptimConfig, RewardConfig, RolloutConfig, SFTConfig, TrainConfig
from trainer.data import Problem
from trainer.evaluate import accuracy
from trainer.generation import TransformersBackend
from trainer.metrics import read_metrics
from trainer.models import load_policy, load_tokenizer
from trainer.rewards import Scorer
from trainer.sft import sft
from trainer.tasks import arithmetic, demonstrations
from trainer.tiny import save_tiny

HERE = Path(__file__).parent
TASK = {"digits": 2, "operators": "+"}


def evaluate(model_dir: Path, held_out: list[Problem], scorer: Scorer) -> dict[str, float]:
    """Sampled (T=1, mean over 4) and greedy accuracy on the held-out problems."""
    cfg = ModelConfig(path=str(model_dir))
    tokenizer = load_tokenizer(str(model_dir))
    backend = TransformersBackend(load_policy(cfg, torch.device("cpu")), tokenizer, RolloutConfig(max_new_tokens=6))
    return {"sampled": accuracy(backend, scorer, tokenizer, cfg, held_out, samples=4),
            "greedy": accuracy(backend, scorer, tokenizer, cfg, held_out, greedy=True)}


def rl_config(algorithm: str, model_dir: Path, url: str, out: Path, steps: int) -> TrainConfig:
    return TrainConfig.model_validate({
        "algorithm": algorithm,
        "model": {"path": str(model_dir)},
        "data": {"task": "arithmetic", "task_args": TASK, "size": 20_000},
        "rollout": {"prompts_per_step": 32, "group_size": 8, "max_new_tokens": 6, "temperature": 1.0},
        "reward": {"urls": [url], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "grpo": {"loss_type": "dapo", "beta": 0.0},
        "ppo": {"kl_coef": 0.01, "gamma": 1.0, "lam": 0.95},
        "optim": {"lr": 3e-4, "value_lr": 3e-3, "warmup_steps": 5, "micro_batch": 256},
        "steps": steps, "seed": 7, "output_dir": str(out), "log_samples_every": 25, "torch_threads": 2,
    })


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="runs/arithmetic", help="Where models and logs go.")
    parser.add_argument("--sft-steps", type=int, default=1500)
    parser.add_argument("--rl-steps", type=int, default=150)
    parser.add_argument("--wrong-fraction", type=float, default=0.3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()

    held_out = arithmetic(500, seed=12345, **TASK)
    unseen = {p.prompt for p in held_out}
    train_problems = [p for p in arithmetic(40_000, seed=1, **TASK) if p.prompt not in unseen]
    demos = [Problem(**row) for row in demonstrations(train_problems, args.wrong_fraction, seed=2)]
    wrong = sum(d.response != p.reference for d, p in zip(demos, train_problems, strict=True)) / len(demos)

    base = save_tiny(work / "base", hidden=128, layers=4, heads=4)
    params = sum(p.numel() for p in load_policy(ModelConfig(path=str(base)), torch.device("cpu")).parameters())
    print(f"model: {params / 1e6:.2f}M parameters; demonstrations: {len(demos)} ({wrong:.1%} wrong)")

    timings, results, runs = {}, {}, {}
    t = time.perf_counter()
    sft_dir = sft(SFTConfig(model=ModelConfig(path=str(base)), batch_size=128, epochs=args.sft_steps * 128 / len(demos),
                            optim=OptimConfig(lr=3e-3, warmup_steps=50, micro_batch=128), output_dir=str(work / "sft"),
                            torch_threads=2), demos, log_every=50)
    timings["sft"] = time.perf_counter() - t
    with launch(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port()) as url:
        scorer = Scorer(RewardConfig(urls=[url], graders=[{"grader": {"type": "math", "timeout_s": 30}}]))
        try:
            results["SFT (30% wrong demos)"] = evaluate(sft_dir, held_out, scorer)
            for algorithm in ("grpo", "ppo"):
                t = time.perf_counter()
                out = work / algorithm
                from trainer.train import train

                train(rl_config(algorithm, sft_dir, url, out, args.rl_steps))
                timings[algorithm] = time.perf_counter() - t
                runs[algorithm.upper()] = out
                results[f"SFT + {algorithm.upper()}"] = evaluate(out / "final", held_out, scorer)
        finally:
            scorer.close()
    total = time.perf_counter() - started

    print(f"\n{'model':<24}{'sampled acc (T=1, 4x)':>24}{'greedy acc':>12}{'train time':>12}")
    keys = {"SFT (30% wrong demos)": "sft", "SFT + GRPO": "grpo", "SFT + PPO": "ppo"}
    for name, acc in results.items():
        print(f"{name:<24}{acc['sampled']:>24.1%}{acc['greedy']:>12.1%}{timings[keys[name]]:>11.0f}s")
    print(f"wall time, everything: {total / 60:.1f} min")
    plot_curves(runs, HERE / "reward_curve.png")
    summary = {"params": params, "wrong_fraction": wrong, "held_out": len(held_out), "wall_s": round(total, 1),
               **{f"{keys[k]}_{m}": round(v, 4) for k, acc in results.items() for m, v in acc.items()},
               **{f"{k}_s": round(v, 1) for k, v in timings.items()}}
    (HERE / "results.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
