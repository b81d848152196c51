"""The blocking forward passes model graders batch: a scalar per sequence, or a probability per step tag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rewards.models.loader import LoadedModel
from rewards.models.text import encode


def sequence_rewards(lm: LoadedModel, texts: list[str], max_length: int) -> list[float]:
    """One scalar per text from a single-output sequence classifier (a Bradley-Terry reward model)."""
    import torch

    batch = encode(lm.tokenizer, texts, max_length).to(lm.device)
    with torch.inference_mode():
        logits = lm.model(**batch).logits
    return logits[:, 0].float().tolist()


@dataclass(frozen=True)
class StepRead:
    """Where and how a PRM's step probabilities are read."""

    tag_id: int
    layout: Literal["token", "causal"]
    positive_id: int  # the positive class (token layout) or the "+" token (causal layout)
    negative_id: int  # the "-" token (causal layout); unused for the token layout


def step_probabilities(lm: LoadedModel, texts: list[str], max_length: int, read: StepRead) -> list[list[float]]:
    """For each text, P(step is good) at every occurrence of the tag token, in order (truncated tags are absent)."""
    import torch

    batch = encode(lm.tokenizer, texts, max_length).to(lm.device)
    with torch.inference_mode():
        logits = lm.model(**batch).logits.float()
    at_tag = batch["input_ids"] == read.tag_id
    out = []
    for row in range(logits.shape[0]):
        rows = logits[row][at_tag[row]]
        if read.layout == "token":
            probs = rows.softmax(-1)[:, read.positive_id]
        else:
            probs = rows[:, [read.positive_id, read.negative_id]].softmax(-1)[:, 0]
        out.append(probs.tolist())
    return out
