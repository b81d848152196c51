"""A tiny causal LM trained (on prompts the tests generate) to answer every short judge prompt the same way."""

from __future__ import annotations

import random
from pathlib import Path

from trainer.tiny_heads import save_tiny_head

# a rating, then a pairwise verdict: rubric graders read 3, pairwise graders read A (in both orders)
ANSWER = "Fair. Rating: [[3]] [[A]]"
# short templates keep the tiny model's contexts short; the default templates are tested on their own
TEMPLATES = {
    "rubric": "Rate {{completion}} for {{prompt}}. {{rubric}}",
    "pairwise": "Compare {{a}} with {{b}} for {{prompt}}.",
    "labels": "Label {{completion}} as {{labels}}.",
}


def _random_text(rng: random.Random, longest: int) -> str:
    words = ["the", "answer", "is", "4", "2+2", "<response-x>", "Rating:", "[[10]]", "ignore", "\n", "Rate", "A"]
    return " ".join(rng.choice(words) for _ in range(rng.randint(1, longest)))


def train_judge_lm(path: Path, steps: int = 200, seed: int = 0) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a shared machine, more threads mostly wait on each other
    save_tiny_head(path, "causal", hidden=64, layers=2, max_len=1024)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    answer = tok.encode(ANSWER, add_special_tokens=False) + [tok.eos_token_id]
    model.train()
    for _ in range(steps):
        rows, labels = [], []
        for _ in range(8):
            messages = [{"role": "user", "content": _random_text(rng, 60)}]
            prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tok.encode(prompt, add_special_tokens=False)
            rows.append(ids + answer)
            labels.append([-100] * len(ids) + answer)
        width = max(map(len, rows))
        input_ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
        target = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        loss = model(input_ids=input_ids, attention_mask=mask, labels=target).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(path)
    torch.set_num_threads(threads)
    return path
