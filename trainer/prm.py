"""Train a process reward model on step-labelled solutions: `rlvr train-prm CONFIG`.

Rows are `{"prompt", "completions": [step, ...], "labels": [true/false, ...]}` (TRL's stepwise
format). Each step is followed by the tag; the label sits on the tag and every other token is
ignored in the loss. Both serving layouts train: a token classifier (label = class 0/1 at the tag)
or a causal LM (the `+` / `-` token predicted at the tag). The input text is built exactly as the
`process` grader builds it, so the saved model serves with `{"type": "process", "scorer": "model"}`.
"""

from __future__ import annotations

from typing import Any

from trainer.config import PRMConfig
from trainer.reward_model import Row, fit


def _last_id(tokenizer: Any, text: str) -> int:
    return int(tokenizer.encode(text, add_special_tokens=False)[-1])


def tagged_logits(model: Any, tokenizer: Any, cfg: PRMConfig, rows: list[Row]) -> tuple[Any, Any]:
    """Logits at every surviving tag of the batch, and the target class / token there."""
    import torch

    from rewards.models.text import encode, tagged_steps

    texts = [tagged_steps(tokenizer, r.get("prompt", ""), r["completions"], cfg.tag) for r in rows]
    batch = encode(tokenizer, texts, cfg.max_length).to(model.device)
    at_tag = batch["input_ids"] == _last_id(tokenizer, cfg.tag)
    if cfg.layout == "token":
        good, bad = 1, 0
    else:
        good, bad = _last_id(tokenizer, cfg.positive_token), _last_id(tokenizer, cfg.negative_token)
    targets = []
    for row, mask in zip(rows, at_tag, strict=True):
        kept = int(mask.sum())  # tags cut by truncation lose their labels
        targets += [good if label else bad for label in row["labels"][:kept]]
    logits = model(**batch).logits[at_tag]
    return logits, torch.tensor(targets, device=logits.device)


def train_prm(cfg: PRMConfig) -> dict[str, Any]:
    """Train and save; the metrics card has held-out step accuracy per epoch."""
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if cfg.layout == "token":
        model = AutoModelForTokenClassification.from_pretrained(cfg.model, num_labels=2)
    else:
        model = AutoModelForCausalLM.from_pretrained(cfg.model)
    model.config.pad_token_id = tokenizer.pad_token_id
    good = 1 if cfg.layout == "token" else _last_id(tokenizer, cfg.positive_token)
    bad = 0 if cfg.layout == "token" else _last_id(tokenizer, cfg.negative_token)

    def loss_fn(model: Any, rows: list[Row]) -> Any:
        logits, targets = tagged_logits(model, tokenizer, cfg, rows)
        return F.cross_entropy(logits.float(), targets)

    def evaluate(model: Any, rows: list[Row]) -> dict[str, float]:
        right = total = 0
        for start in range(0, len(rows), cfg.batch_size):
            logits, targets = tagged_logits(model, tokenizer, cfg, rows[start : start + cfg.batch_size])
            says_good = logits[:, good] > logits[:, bad]
            right += int((says_good == (targets == good)).sum())
            total += len(targets)
        return {"eval_step_accuracy": right / max(1, total)}

    task_type = "TOKEN_CLS" if cfg.layout == "token" else "CAUSAL_LM"
    return fit(cfg, model, tokenizer, loss_fn, evaluate, task_type=task_type)
