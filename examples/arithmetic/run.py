"""The demonstration: RL with a verifier takes a tiny model beyond its noisy demonstrations.

A 1M-parameter byte-level model is SFT'd on sums `ab+c=` (a two-digit number plus a one-digit one)
in which 30% of the answers are wrong, then trained with GRPO (and afterwards PPO) on rewards from
the math grader of a real reward service (`rlvr serve`, over HTTP). Accuracy on 500 held-out sums
(never in the SFT or RL data) is measured after each, sampled at temperature 1 (4 samples per
problem) and greedy. Run: `python -m examples.arithmetic.run` (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

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


def all_problems() -> list[Problem]:
    """Every `ab+c=` (a in 00..99, zero-padded; c in 0..9): 1000 problems, reference the exact sum."""
    return [Problem(prompt=f"{a:02d}+{c}=", reference=str(a + c)) for a in range(100) for c in range(10)]


def demonstrations(problems: list[Problem], n: int, wrong_fraction: float, seed: int) -> list[Problem]:
    """`n` SFT rows drawn from `problems`; each answer independently wrong with `wrong_fraction` (off by 1..10).

    Answers are written with three digits (`007`, `105`): a fixed width is easier for a tiny model.
    The error is drawn per row, so a problem seen several times has different wrong answers and the
    most likely answer stays the right one.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        problem = rng.choice(problems)
        answer = int(problem.reference)
        if rng.random() < wrong_fraction:
            answer += rng.choice([-1, 1]) * rng.randint(1, 10)
        text = f"{answer:03d}" if answer >= 0 else str(answer)
        rows.append(Problem(prompt=problem.prompt, reference=problem.reference, response=text))
    return rows


def evaluate(model_dir: Path, held_out: list[Problem], scorer: Scorer) -> dict[str, float]:
    """Sampled (T=1, mean over 4) and greedy accuracy on the held-out problems."""
    cfg = ModelConfig(path=str(model_dir))
    tokenizer = load_tokenizer(str(model_dir))
    backend = TransformersBackend(load_policy(cfg, torch.device("cpu")), tokenizer,
                                  RolloutConfig(max_new_tokens=MAX_NEW_TOKENS))
    return {"sampled": accuracy(backend, scorer, tokenizer, cfg, held_out, samples=4, batch=250),
            "greedy": accuracy(backend, scorer, tokenizer, cfg, held_out, greedy=True, batch=250)}


def rl_config(algorithm: str, model_dir: Path, data: Path, url: str, out: Path, steps: int, lr: float,
              seed: int) -> TrainConfig:
    return TrainConfig.model_validate({
        "algorithm": algorithm,
        "model": {"path": str(model_dir)},
        "data": {"jsonl": str(data)},
        "rollout": {"prompts_per_step": 32, "group_size": 8, "max_new_tokens": MAX_NEW_TOKENS, "temperature": 1.0},
        "reward": {"urls": [url], "graders": [MATH]},
        "grpo": {"loss_type": "dapo", "beta": 0.0},
        "ppo": {"kl_coef": 0.0, "gamma": 1.0, "lam": 0.95},
        "optim": {"lr": lr, "value_lr": 3e-3, "warmup_steps": 5, "micro_batch": 256},
        "steps": steps, "seed": 7 + seed, "output_dir": str(out), "log_samples_every": 25, "torch_threads": 2,
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
    parser.add_argument("--sft-steps", type=int, default=900)
    parser.add_argument("--rl-steps", type=int, default=120)
    parser.add_argument("--rl-lr", type=float, default=5e-4)
    parser.add_argument("--wrong-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0, help="Shifts the noise, init, SFT and RL seeds.")
    parser.add_argument("--no-ppo", action="store_true", help="Stop after GRPO.")
    args = parser.parse_args()
    torch.set_num_threads(2)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()

    problems = all_problems()
    random.Random(12345).shuffle(problems)
    held_out, seen = problems[:500], problems[500:]
    demos = demonstrations(seen, args.sft_steps * 128, args.wrong_fraction, seed=2 + args.seed)
    wrong = sum(int(d.response) != int(d.reference) for d in demos) / len(demos)
    rl_data = work / "rl_prompts.jsonl"
    rl_data.write_text("".join(json.dumps({"prompt": p.prompt, "reference": p.reference}) + "\n" for p in seen))

    base = save_tiny(work / "base", hidden=128, layers=4, heads=4, seed=args.seed)
    params = sum(p.numel() for p in load_policy(ModelConfig(path=str(base)), torch.device("cpu")).parameters())
    print(f"model: {params / 1e6:.2f}M parameters; demonstrations: {len(demos)} rows over {len(seen)} problems "
          f"({wrong:.1%} wrong); held out: {len(held_out)} problems")

    timings, results, runs = {}, {}, {}
    t = time.perf_counter()
    sft_dir = sft(SFTConfig(model=ModelConfig(path=str(base)), batch_size=128, epochs=1.0,
                            optim=OptimConfig(lr=3e-3, warmup_steps=50, micro_batch=128), output_dir=str(work / "sft"),
                            torch_threads=2, seed=args.seed), demos, log_every=50)
    timings["sft"] = time.perf_counter() - t
    with launch(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port()) as url:
        scorer = Scorer(RewardConfig(urls=[url], graders=[MATH]))
        try:
            results["SFT (30% wrong demos)"] = evaluate(sft_dir, held_out, scorer)
            for algorithm in ("grpo",) if args.no_ppo else ("grpo", "ppo"):
                t = time.perf_counter()
                out = work / algorithm
                from trainer.train import train

                train(rl_config(algorithm, sft_dir, rl_data, url, out, args.rl_steps, args.rl_lr, args.seed))
                timings[algorithm] = time.perf_counter() - t
                runs[algorithm.upper()] = out
                results[f"SFT + {algorithm.upper()}"] = evaluate(out / "final", held_out, scorer)
                if algorithm == "grpo":
                    timings["through_grpo"] = time.perf_counter() - started
        finally:
            scorer.close()
    total = time.perf_counter() - started
    timeouts = sum(r.get("grader_timeouts") or 0 for out in runs.values()
                   for r in read_metrics(out / "metrics.jsonl"))

    print(f"\n{'model':<24}{'sampled acc (T=1, 4x)':>24}{'greedy acc':>12}{'train time':>12}")
    keys = {"SFT (30% wrong demos)": "sft", "SFT + GRPO": "grpo", "SFT + PPO": "ppo"}
    for name, acc in results.items():
        print(f"{name:<24}{acc['sampled']:>24.1%}{acc['greedy']:>12.1%}{timings[keys[name]]:>11.0f}s")
    print(f"wall time, SFT + GRPO + their evaluations: {timings['through_grpo'] / 60:.1f} min; "
          f"everything (with PPO): {total / 60:.1f} min; grader timeouts during RL: {timeouts:g}")
    plot_curves(runs, HERE / "reward_curve.png")
    summary = {"params": params, "wrong_fraction": round(wrong, 4), "held_out": len(held_out),
               "wall_s_through_grpo": round(timings["through_grpo"], 1), "wall_s": round(total, 1),
               **{f"{keys[k]}_{m}": round(v, 4) for k, acc in results.items() for m, v in acc.items()},
               **{f"{k}_s": round(v, 1) for k, v in timings.items() if k != "through_grpo"}}
    (HERE / "results.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
