"""Supervised fine-tuning with the loss on response tokens only: warm starts before RL."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import torch

from trainer.config import SFTConfig
from trainer.data import format_prompt, load_problems
from trainer.leakage import check_before_training
from trainer.models import load_policy, load_tokenizer
from trainer.problems import Problem

IGNORE = -100


def encode(tokenizer: Any, problem: Problem, cfg: SFTConfig) -> tuple[list[int], list[int]]:
    """Token ids of prompt + response + eos, and labels that ignore the prompt."""
    if problem.response is None:
        raise ValueError(f"SFT row without a response: {problem.prompt[:80]!r}")
    prompt = tokenizer(format_prompt(tokenizer, problem.prompt, cfg.model), add_special_tokens=False)["input_ids"]
    response = tokenizer(problem.response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = (prompt + response)[: cfg.max_length]
    labels = ([IGNORE] * len(prompt) + response)[: cfg.max_length]
    return ids, labels


def collate(rows: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padded positions are ignored by attention and loss."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id)
    labels = torch.full((len(rows), width), IGNORE)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row_ids, row_labels) in enumerate(rows):
        ids[i, : len(row_ids)] = torch.tensor(row_ids)
        labels[i, : len(row_labels)] = torch.tensor(row_labels)
        attention[i, : len(row_ids)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": attention}


def sft(cfg: SFTConfig, rows: list[Problem] | None = None, log_every: int = 50) -> Path:
    """Train on `rows` (default: the configured data) and save model + tokenizer to `cfg.output_dir`."""
    from accelerate import Accelerator
    from tqdm import tqdm
    from transformers import get_cosine_schedule_with_warmup

    accelerator = Accelerator(cpu=not torch.cuda.is_available())  # cpu=True: gloo across CPU processes
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed + accelerator.process_index)
    tokenizer = load_tokenizer(cfg.model.path)
    model = load_policy(cfg.model, accelerator.device)
    problems = rows if rows is not None else load_problems(cfg.data, cfg.seed)
    check_before_training(problems, cfg.data)  # refuses when the data holds too much of the eval sets
    examples = [encode(tokenizer, p, cfg) for p in problems]
    steps = max(1, math.ceil(cfg.epochs * len(examples) / cfg.batch_size))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.optim.lr,
                                  weight_decay=cfg.optim.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, cfg.optim.warmup_steps, steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()

    order: list[int] = []
    bar = tqdm(range(steps), desc="sft", disable=not accelerator.is_main_process)
    for step in bar:
        if len(order) < cfg.batch_size:
            order += rng.sample(range(len(examples)), len(examples))
        batch, order = [examples[i] for i in order[: cfg.batch_size]], order[cfg.batch_size:]
        tokens = sum(sum(label != IGNORE for label in labels) for _, labels in batch)
        total = 0.0
        for begin in range(0, len(batch), cfg.optim.micro_batch):
            micro = collate(batch[begin: begin + cfg.optim.micro_batch], tokenizer.pad_token_id)
            micro = {k: v.to(accelerator.device) for k, v in micro.items()}
            logits = model(input_ids=micro["input_ids"], attention_mask=micro["attention_mask"]).logits[:, :-1]
            labels = micro["labels"][:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                                     labels.reshape(-1), ignore_index=IGNORE, reduction="sum")
            accelerator.backward(loss / tokens)  # mean over the batch's response tokens
            total += loss.item()
        accelerator.clip_grad_norm_(model.parameters(), cfg.optim.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % log_every == 0:
            bar.set_postfix(loss=f"{total / tokens:.4f}")

    out = Path(cfg.output_dir)
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        if hasattr(unwrapped, "merge_and_unload"):
            unwrapped = unwrapped.merge_and_unload()
        unwrapped.save_pretrained(out)
        tokenizer.save_pretrained(out)
    accelerator.wait_for_everyone()
    return out
