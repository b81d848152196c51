"""Train a Bradley-Terry reward model on (prompt, chosen, rejected) pairs: `rlvr train-rm CONFIG`.

Loss: -log sigmoid(r_chosen - r_rejected - margin) + center * (r_chosen + r_rejected)^2, full or LoRA
fine-tuning, pairwise accuracy on a held-out split every epoch. The result is a plain
`AutoModelForSequenceClassification` (LoRA merged) with its tokenizer and a metrics card,
ready for `{"type": "reward_model", "model": <output_dir>}`. `fit` is the loop PRM training shares.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from trainer.config import LearnedRewardConfig, RewardModelConfig
from trainer.models import with_lora

METRICS_FILE = "rlvr_metrics.json"

Row = dict[str, Any]


def load_records(source: str, split: str = "train") -> list[Row]:
    """Rows of a JSONL file or of a `datasets` dataset split."""
    path = Path(source)
    if path.is_file():
        with path.open() as f:
            return [json.loads(line) for line in f if line.strip()]
    import datasets

    return list(datasets.load_dataset(source, split=split))


def train_eval_split(cfg: LearnedRewardConfig) -> tuple[list[Row], list[Row]]:
    """The training rows and the held-out rows (`eval_data`, or a seeded `eval_fraction` of `data`)."""
    rows = load_records(cfg.data, cfg.split)
    if cfg.eval_data:
        return rows, load_records(cfg.eval_data, cfg.split)
    random.Random(cfg.seed).shuffle(rows)
    n_eval = max(1, int(len(rows) * cfg.eval_fraction))
    return rows[n_eval:], rows[:n_eval]


def batches(rows: list[Row], size: int, rng: random.Random) -> Iterator[list[Row]]:
    """One shuffled pass over `rows` in batches of `size`."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    for start in range(0, len(order), size):
        yield [rows[i] for i in order[start : start + size]]


def fit(
    cfg: LearnedRewardConfig,
    model: Any,
    tokenizer: Any,
    loss_fn: Callable[[Any, list[Row]], Any],
    evaluate: Callable[[Any, list[Row]], dict[str, float]],
    task_type: str,
) -> dict[str, Any]:
    """The shared loop: AdamW over shuffled batches, eval every epoch, save model + tokenizer + metrics card."""
    import torch
    from tqdm import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    train, held_out = train_eval_split(cfg)
    model = with_lora(model, cfg.lora, task_type)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = cfg.epochs * -(-len(train) // cfg.batch_size)
    warmup = int(cfg.warmup_ratio * total_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total_steps - s) / (total_steps - warmup))
    )
    history = []
    for epoch in range(cfg.epochs):
        bar = tqdm(batches(train, cfg.batch_size, rng), total=-(-len(train) // cfg.batch_size),
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress)
        total = 0.0
        for step, batch in enumerate(bar, 1):
            loss = loss_fn(model, batch)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / step:.4f}")
        model.eval()
        with torch.inference_mode():
            metrics = {"epoch": epoch + 1, "train_loss": total / max(1, step), **evaluate(model, held_out)}
        model.train()
        history.append(metrics)
        print(json.dumps(metrics), flush=True)
    if cfg.lora is not None:
        model = model.merge_and_unload()
    out = Path(cfg.output_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    card = {"base_model": cfg.model, "train_rows": len(train), "eval_rows": len(held_out), "epochs": history,
            "config": cfg.model_dump()}
    (out / METRICS_FILE).write_text(json.dumps(card, indent=2))
    return card


def _rewards(model: Any, tokenizer: Any, prompts: list[str], completions: list[str], max_length: int) -> Any:
    from rewards.models.text import encode, render

    texts = [render(tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
    batch = encode(tokenizer, texts, max_length).to(model.device)
    return model(**batch).logits[:, 0]


def pairwise(model: Any, tokenizer: Any, rows: list[Row], max_length: int) -> tuple[Any, Any]:
    """Rewards of chosen and rejected for a batch of pairs, in one forward pass."""
    prompts = [r.get("prompt", "") for r in rows]
    both = _rewards(model, tokenizer, prompts * 2, [r["chosen"] for r in rows] + [r["rejected"] for r in rows],
                    max_length)
    return both[: len(rows)], both[len(rows) :]


def train_reward_model(cfg: RewardModelConfig) -> dict[str, Any]:
    """Train and save; returns the metrics card (held-out pairwise accuracy per epoch)."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.truncation_side = "left"
    model = AutoModelForSequenceClassification.from_pretrained(cfg.model, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id

    def loss_fn(model: Any, rows: list[Row]) -> Any:
        chosen, rejected = pairwise(model, tokenizer, rows, cfg.max_length)
        margin = torch.tensor([float(r.get("margin", cfg.margin)) for r in rows], device=chosen.device)
        loss = -F.logsigmoid(chosen - rejected - margin).mean()
        if cfg.center_coef:
            loss = loss + cfg.center_coef * ((chosen + rejected) ** 2).mean()
        return loss

    def evaluate(model: Any, rows: list[Row]) -> dict[str, float]:
        wins, gaps = 0, []
        for start in range(0, len(rows), cfg.batch_size):
            chosen, rejected = pairwise(model, tokenizer, rows[start : start + cfg.batch_size], cfg.max_length)
            wins += int((chosen > rejected).sum())
            gaps += (chosen - rejected).tolist()
        return {"eval_accuracy": wins / len(rows), "eval_margin": sum(gaps) / len(gaps)}

    return fit(cfg, model, tokenizer, loss_fn, evaluate, task_type="SEQ_CLS")
