"""Seconds per GRPO step: our trainer vs TRL's GRPOTrainer, same model, prompts, G, batch and reward.

Both get rewards from the same `rlvr serve` (TRL through our TRL adapter, ours through the async
client with scoring overlapped with generation). Rows:
- CPU (default): the tiny model; TRL and rlvr both sampling with transformers' `generate`, and rlvr's
  server backend against `rlvr serve-model` (rollouts over HTTP, the full weights reloaded after each step).
- GPU (`--vllm MODEL`): both sampling from vLLM servers, LoRA on both sides: TRL's `trl vllm-serve` on
  `--vllm-gpu` with `use_vllm=True, vllm_mode="server"`, rlvr's server backend against `vllm serve
  --enable-lora` (runtime adapter loading); training on the first visible GPU.
Then rlvr's profile per step: sampling, waiting for rewards, the update, the weight sync (medians).
Prints the tables and ends with one JSON line. Run: `python -m bench.trainer_bench [--steps 12]`, or on a
GPU machine `python -m bench.trainer_bench --vllm Qwen/Qwen2.5-0.5B-Instruct`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from sandbox.local import child_service, free_port
from trainer.config import TrainConfig
from trainer.metrics import read_metrics
from trainer.tasks import TASKS
from trainer.tiny import save_tiny

PHASES = {"generate_seconds": "sample", "score_wait_seconds": "wait for rewards", "update_seconds": "update",
          "sync_seconds": "weight sync"}
WARM = slice(2, None)  # the first steps pay for imports and warm-up on both sides
TASK_ARGS: dict[str, dict[str, Any]] = {"arithmetic": {"digits": 2}, "word": {}}  # 6- and ~180-token prompts
LORA: dict[str, Any] = {"r": 16, "alpha": 32, "target_modules": "all-linear"}


def run_ours(model: str, url: str, out: Path, args: argparse.Namespace, rollout: dict[str, Any] | None = None
             ) -> list[dict[str, Any]]:
    """rlvr's GRPO steps; their metrics.jsonl records."""
    from trainer.train import train

    cfg = TrainConfig.model_validate({
        "model": {"path": model, **({"lora": LORA} if args.vllm else {})},
        "data": {"task": args.task, "task_args": TASK_ARGS[args.task], "size": 2000},
        "rollout": {"prompts_per_step": args.prompts, "group_size": args.group, "max_new_tokens": args.max_new_tokens,
                    "temperature": 1.0, **(rollout or {})},
        "reward": {"urls": [url], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "grpo": {"loss_type": "dapo", "beta": 0.0, "mask_truncated": False},
        "optim": {"lr": 1e-5, "micro_batch": args.prompts * args.group},
        "steps": args.steps, "output_dir": str(out), "log_samples_every": 0, "plots": False,
        "torch_threads": None if args.vllm else args.threads, "monitors": {"enabled": False},
    })
    train(cfg)
    return read_metrics(out / "metrics.jsonl")


def run_trl(model: str, url: str, out: Path, args: argparse.Namespace, vllm_url: str | None = None) -> list[float]:
    """TRL GRPOTrainer's step times (sampling with `generate`, or from a `trl vllm-serve` at `vllm_url`)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rewards.integrations.trl import TRLReward

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[float] = []

        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.marks.append(time.perf_counter())

        def on_step_end(self, *a: Any, **k: Any) -> None:
            self.marks.append(time.perf_counter())

    problems = TASKS[args.task](2000, seed=0, **TASK_ARGS[args.task])
    data = Dataset.from_list([{"prompt": p.prompt, "reference": p.reference} for p in problems])
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.padding_side = "left"
    gpu = vllm_url is not None
    vllm: dict[str, Any] = {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": vllm_url} if gpu else {}
    cfg = GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=args.prompts * args.group, num_generations=args.group,
        max_completion_length=args.max_new_tokens, beta=0.0, loss_type="dapo", learning_rate=1e-5,
        temperature=1.0, max_steps=args.steps, logging_steps=1, save_strategy="no", report_to="none",
        use_cpu=not gpu, bf16=gpu, dataloader_num_workers=0, **vllm,
    )
    peft = None
    if gpu:
        from peft import LoraConfig

        peft = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], target_modules=LORA["target_modules"],
                          task_type="CAUSAL_LM")
    timer = StepTimer()
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model), args=cfg, train_dataset=data,
                          processing_class=tokenizer, peft_config=peft, callbacks=[timer],
                          reward_funcs=[TRLReward({"type": "math", "timeout_s": 30}, url=url)])
    trainer.train()
    return [end - begin for begin, end in zip(timer.marks[::2], timer.marks[1::2], strict=True)]


@contextlib.contextmanager
def vllm_server(module: str, model: str, gpu: str, *flags: str, health: str = "/health") -> Iterator[str]:
    """A vLLM server (`vllm serve` or TRL's `trl vllm-serve`) on loopback, on the GPUs `gpu`."""
    env = {"CUDA_VISIBLE_DEVICES": gpu, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
    with child_service(["--model", model, *flags], free_port(), module=module, env=env, health=health,
                       wait_s=900) as url:
        yield url


def cpu_rows(work: Path, url: str, args: argparse.Namespace) -> dict[str, tuple[list[float], list[dict[str, Any]]]]:
    """TRL and rlvr sampling with `generate`, and rlvr through `rlvr serve-model`, on the tiny model."""
    model = str(save_tiny(work / "model", hidden=128, layers=4, heads=4, max_len=256))
    rows: dict[str, tuple[list[float], list[dict[str, Any]]]] = {}
    rows["TRL GRPOTrainer (generate)"] = run_trl(model, url, work / "trl", args), []
    records = run_ours(model, url, work / "ours", args)
    rows["rlvr (generate)"] = [r["step_seconds"] for r in records], records
    serve_model = ["serve-model", model, "--name", "policy", "--weight-updates", "--threads", str(args.threads),
                   "--batch-size", str(args.prompts * args.group), "--max-new-tokens", str(args.max_new_tokens)]
    with child_service(serve_model, free_port(), env={"RLVR_TORCH_THREADS": str(args.threads)}) as server:
        records = run_ours(model, url, work / "server", args,
                           {"backend": "server", "server_urls": [server], "server_model": "policy"})
    rows["rlvr (serve-model)"] = [r["step_seconds"] for r in records], records
    return rows


def gpu_rows(work: Path, url: str, args: argparse.Namespace) -> dict[str, tuple[list[float], list[dict[str, Any]]]]:
    """TRL with `trl vllm-serve` and rlvr with `vllm serve --enable-lora`, LoRA on both, one after the other."""
    rows: dict[str, tuple[list[float], list[dict[str, Any]]]] = {}
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", args.train_gpu)
    with vllm_server("trl.scripts.vllm_serve", args.vllm, args.vllm_gpu, health="/health/") as server:
        rows["TRL GRPOTrainer (vLLM server)"] = run_trl(args.vllm, url, work / "trl", args, server), []
    flags = ["--enable-lora", "--max-lora-rank", str(LORA["r"]), "--max-loras", "2",
             "--logprobs-mode", "processed_logprobs", "--served-model-name", "policy"]
    with vllm_server("vllm.entrypoints.openai.api_server", args.vllm, args.vllm_gpu, *flags) as server:
        records = run_ours(args.vllm, url, work / "ours", args,
                           {"backend": "server", "server_urls": [server], "server_model": "policy"})
    rows["rlvr (vLLM server)"] = [r["step_seconds"] for r in records], records
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--task", choices=sorted(TASK_ARGS), default="arithmetic",
                        help="arithmetic: 6-token prompts (`49+97=`); word: GSM8K-sized word problems, ~180 tokens.")
    parser.add_argument("--vllm", metavar="MODEL", help="GPU machine: compare with TRL using vLLM on both sides.")
    parser.add_argument("--vllm-gpu", default="1", help="CUDA_VISIBLE_DEVICES of the vLLM servers (--vllm).")
    parser.add_argument("--train-gpu", default="0", help="CUDA_VISIBLE_DEVICES of the trainers (--vllm).")
    args = parser.parse_args()
    if not args.vllm:
        torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="trainer_bench_"))
    with child_service(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port()) as url:
        rows = gpu_rows(work, url, args) if args.vllm else cpu_rows(work, url, args)

    medians = {name: statistics.median(times[WARM]) for name, (times, _) in rows.items()}
    trl_name, ours_name, *_ = rows
    ratio = medians[ours_name] / medians[trl_name]
    print(f"\nGRPO step, {args.task} prompts, {args.prompts} prompts x G={args.group}, max {args.max_new_tokens} new tokens, "
          f"{args.steps} steps (median of steps 3..{args.steps})")
    print(f"{'trainer':<32}{'s/step (median)':>18}{'min':>8}{'max':>8}{'vs TRL':>9}")
    for name, (times, _) in rows.items():
        print(f"{name:<32}{medians[name]:>18.3f}{min(times[WARM]):>8.3f}{max(times[WARM]):>8.3f}"
              f"{medians[name] / medians[trl_name]:>8.2f}x")
    print(f"ratio {ours_name} / TRL: {ratio:.2f}x (target <= 0.6x)")

    profile = {name: {key: statistics.median(r[key] for r in records[WARM]) for key in PHASES}
               for name, (_, records) in rows.items() if records}
    print(f"\nrlvr per step, medians (s){''.join(f'{label:>18}' for label in PHASES.values())}")
    for name, phases in profile.items():
        print(f"{name:<26}{''.join(f'{phases[key]:>18.3f}' for key in PHASES)}")
    server_name = list(rows)[-1]  # the server backend's row comes last
    print(json.dumps({"bench": "trainer", "ours": round(medians[ours_name], 4), "peer": round(medians[trl_name], 4),
                      "ratio": round(ratio, 3), "unit": "s/step", "trl_s_per_step": round(medians[trl_name], 4),
                      "rlvr_s_per_step": round(medians[ours_name], 4),
                      "rlvr_server_s_per_step": round(medians[server_name], 4),
                      "server_ratio": round(medians[server_name] / medians[trl_name], 3),
                      "profile": {name: {PHASES[k]: round(v, 4) for k, v in phases.items()}
                                  for name, phases in profile.items()},
                      "gpu_vllm": bool(args.vllm), "task": args.task, "steps": args.steps, "prompts": args.prompts,
                      "group": args.group, "max_new_tokens": args.max_new_tokens}))


if __name__ == "__main__":
    main()
