"""The update's forward pass with each group's prompt run once (`optim.share_prompt`): the same log-probs and
gradients as running every row's prompt, for a plain and a LoRA policy, with left-padded prompts of different
lengths and completions that end early."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trainer.config import LoraConfig, ModelConfig, RolloutConfig
from trainer.generation import Rollouts, TransformersBackend
from trainer.models import load_policy, load_tokenizer
from trainer.train import forward

G = 4


def rollouts(model_dir: Path, policy: torch.nn.Module) -> Rollouts:
    tokenizer = load_tokenizer(str(model_dir))
    prompts = [f"{a}+{b}={'?' * (a % 4)}" for a, b in [(1, 2), (13, 7), (250, 4), (8, 9)]]  # lengths differ
    torch.manual_seed(0)
    return TransformersBackend(policy, tokenizer, RolloutConfig(max_new_tokens=6)).generate(prompts, G)


def logps_and_grads(policy: torch.nn.Module, rows: Rollouts, group_size: int
                    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    policy.zero_grad(set_to_none=True)
    logp, _ = forward(policy, rows, 0.7, group_size)
    (logp * rows.completion_mask).sum().backward()
    grads = [p.grad.clone() for p in policy.parameters() if p.requires_grad and p.grad is not None]
    return logp.detach() * rows.completion_mask, grads


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_sharing_the_prompt_gives_the_same_logprobs_and_gradients(warm_model: Path, lora: bool) -> None:
    cfg = ModelConfig(path=str(warm_model), lora=LoraConfig(r=4, alpha=8) if lora else None)
    policy = load_policy(cfg, torch.device("cpu"))
    rows = rollouts(warm_model, policy)
    assert rows.prompt_mask.sum(1).unique().numel() > 1  # left padding is exercised
    assert (rows.completion_mask.sum(1) < rows.completion_ids.shape[1]).any()  # so are early ends
    policy.train()
    full, full_grads = logps_and_grads(policy, rows, 1)
    shared, shared_grads = logps_and_grads(policy, rows, G)
    assert full.abs().sum() > 0
    torch.testing.assert_close(shared, full, atol=1e-5, rtol=1e-5)
    assert len(shared_grads) == len(full_grads) > 0
    for a, b in zip(shared_grads, full_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_rows_of_another_group_size_are_not_mixed_up(warm_model: Path) -> None:
    """Sharing over the wrong group size would give other prompts to some completions: the numbers change."""
    policy = load_policy(ModelConfig(path=str(warm_model)), torch.device("cpu"))
    rows = rollouts(warm_model, policy)
    with torch.no_grad():
        right, _ = forward(policy, rows, 1.0, G)
        wrong, _ = forward(policy, rows, 1.0, 2 * G)
    mask = rows.completion_mask.bool()
    assert not torch.allclose(right[mask], wrong[mask])


@pytest.mark.parametrize("greedy", [False, True], ids=["sampled", "greedy"])
def test_generation_from_a_repeated_prompt_cache_matches_generating_every_copy(warm_model: Path, greedy: bool
                                                                               ) -> None:
    """The transformers backend prefills each prompt once for its G samples: the same tokens and log-probs as
    prefilling the G copies one by one, at the same seed."""
    tokenizer = load_tokenizer(str(warm_model))
    policy = load_policy(ModelConfig(path=str(warm_model)), torch.device("cpu"))
    backend = TransformersBackend(policy, tokenizer, RolloutConfig(max_new_tokens=6, temperature=0.9))
    prompts = ["3+4=", "12+9=", "7+1=????"]
    torch.manual_seed(5)
    shared = backend.generate(prompts, G, greedy=greedy)
    torch.manual_seed(5)
    copies = backend.generate([p for p in prompts for _ in range(G)], 1, greedy=greedy)
    assert torch.equal(shared.prompt_ids, copies.prompt_ids)
    assert torch.equal(shared.completion_ids * shared.completion_mask, copies.completion_ids * copies.completion_mask)
    assert shared.texts == copies.texts and len(set(shared.texts)) > (1 if not greedy else 0)
    torch.testing.assert_close(shared.behaviour_logprobs, copies.behaviour_logprobs, atol=1e-5, rtol=1e-5)
