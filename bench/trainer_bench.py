"""Seconds per GRPO step: our trainer vs TRL's GRPOTrainer, same tiny model, prompts, G, batch and reward.

Both get rewards from the same `rlvr serve` (TRL through our TRL adapter, ours through the async
client with scoring overlapped with generation). Prints a table and ends with one JSON line.
Run: `python -m bench.trainer_bench [--steps 12]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from sandbox.local import child_service, free_port
from trainer.config import TrainConfig
from trainer.metrics import read_metrics
from trainer.tasks import arithmetic
from trainer.tiny import save_tiny


def run_ours(model: Path, url: str, out: Path, args: argparse.Namespace) -> list[float]:
    from trainer.train import train

    cfg = TrainConfig.model_validate({
        "model": {"path": str(model)},
        "data": {"task": "arithmetic", "task_args": {"digits": 2}, "size": 2000},
        "rollout": {"prompts_per_step": args.prompts, "group_size": args.group, "max_new_tokens": args.max_new_tokens,
                    "temperature": 1.0},
        "reward": {"urls": [url], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "grpo": {"loss_type": "dapo", "beta": 0.0, "mask_truncated": False},
        "optim": {"lr": 1e-5, "micro_batch": args.prompts * args.group},
        "steps": args.steps, "output_dir": str(out), "log_samples_every": 0, "plots": False,
        "torch_threads": args.threads,
    })
    train(cfg)
    return [r["step_seconds"] for r in read_metrics(out / "metrics.jsonl")]


def run_trl(model: Path, url: str, out: Path, args: argparse.Namespace) -> list[float]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rewards.integrations.trl import TRLReward

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[float] = []

        def on_step_begin(self, *a, **k) -> None:
            self.marks.append(time.perf_counter())

        def on_step_end(self, *a, **k) -> None:
            self.marks.append(time.perf_counter())

    problems = arithmetic(2000, seed=0, digits=2)
    data = Dataset.from_list([{"prompt": p.prompt, "reference": p.reference} for p in problems])
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.padding_side = "left"
    cfg = GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=args.prompts * args.group, num_generations=args.group,
        max_completion_length=args.max_new_tokens, beta=0.0, loss_type="dapo", learning_rate=1e-5,
        temperature=1.0, max_steps=args.steps, logging_steps=1, save_strategy="no", report_to="none",
        use_cpu=True, bf16=False, dataloader_num_workers=0,
    )
    timer = StepTimer()
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model), args=cfg, train_dataset=data,
                          processing_class=tokenizer, reward_funcs=[TRLReward({"type": "math", "timeout_s": 30}, url=url)], callbacks=[timer])
    trainer.train()
    return [end - begin for begin, end in zip(timer.marks[::2], timer.marks[1::2], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="trainer_bench_"))
    model = save_tiny(work / "model", hidden=128, layers=4, heads=4)
    with child_service(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port()) as url:
        trl_times = run_trl(model, url, work / "trl", args)
        ours_times = run_ours(model, url, work / "ours", args)
    warm = slice(2, None)  # the first steps pay for imports and warm-up on both sides
    trl_median, ours_median = statistics.median(trl_times[warm]), statistics.median(ours_times[warm])
    ratio = ours_median / trl_median
    print(f"\nGRPO step, {args.prompts} prompts x G={args.group}, max {args.max_new_tokens} new tokens, "
          f"{args.steps} steps (median of steps 3..{args.steps})")
    print(f"{'trainer':<16}{'s/step (median)':>18}{'min':>8}{'max':>8}")
    for name, times in (("TRL GRPOTrainer", trl_times[warm]), ("rlvr", ours_times[warm])):
        print(f"{name:<16}{statistics.median(times):>18.3f}{min(times):>8.3f}{max(times):>8.3f}")
    print(f"ratio rlvr / TRL: {ratio:.2f}x (target <= 0.8x)")
    print(json.dumps({"bench": "trainer", "ours": round(ours_median, 4), "peer": round(trl_median, 4),
                      "ratio": round(ratio, 3), "unit": "s/step", "trl_s_per_step": round(trl_median, 4),
                      "rlvr_s_per_step": round(ours_median, 4), "steps": args.steps, "prompts": args.prompts,
                      "group": args.group, "max_new_tokens": args.max_new_tokens}))


if __name__ == "__main__":
    main()
