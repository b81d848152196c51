"""Truncated importance sampling of the server/trainer mismatch, against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.config import GRPOConfig
from trainer.grpo import grpo_loss
from trainer.mismatch import truncated_is


def test_weights_are_the_capped_ratio_of_trainer_over_server() -> None:
    trainer = torch.tensor([[-1.0, -2.0, -0.5, -3.0]])
    server = torch.tensor([[-1.0, -1.0, -2.0, -9.0]])  # ratios e^0, e^-1, e^1.5, e^6 (the last one masked)
    mask = torch.tensor([[1, 1, 1, 0]])
    weights, stats = truncated_is(trainer, server, mask, cap=2.0)
    assert weights is not None
    assert weights[0, :3].tolist() == pytest.approx([1.0, math.exp(-1), 2.0])  # e^1.5 = 4.48 capped at 2
    ratios = torch.tensor([1.0, math.exp(-1), math.exp(1.5)])
    assert stats["mismatch/abs_logp_diff"] == pytest.approx((0 + 1 + 1.5) / 3)
    assert stats["mismatch/ratio_mean"] == pytest.approx(ratios.mean().item())
    assert stats["mismatch/ratio_std"] == pytest.approx(ratios.std().item())
    assert stats["mismatch/ratio_max"] == pytest.approx(math.exp(1.5))  # the masked e^6 is not counted
    assert stats["mismatch/ratio_min"] == pytest.approx(math.exp(-1))
    assert stats["mismatch/tis_clipped"] == pytest.approx(1 / 3)


def test_no_cap_means_no_correction_but_the_metrics() -> None:
    weights, stats = truncated_is(torch.zeros(1, 2), torch.full((1, 2), -0.1), torch.ones(1, 2), cap=None)
    assert weights is None and stats["mismatch/abs_logp_diff"] == pytest.approx(0.1)


def test_the_weights_scale_the_surrogate_and_carry_no_gradient() -> None:
    old = torch.tensor([[-1.0, -1.0]], requires_grad=True)
    logp = torch.tensor([[-1.0, -1.0]], requires_grad=True)
    weights, _ = truncated_is(old, torch.tensor([[-1.0, -1.0 - math.log(1.5)]]), torch.ones(1, 2), cap=2.0)
    assert weights is not None and not weights.requires_grad
    cfg = GRPOConfig(loss_type="dapo")
    plain, _ = grpo_loss(logp, old.detach(), None, torch.tensor([1.0]), torch.ones(1, 2), cfg, 1, 2, 2)
    weighted, _ = grpo_loss(logp, old.detach(), None, torch.tensor([1.0]), torch.ones(1, 2), cfg, 1, 2, 2, weights)
    # ratio 1, advantage 1: each token's loss is -1, weighted by 1 and 1.5
    assert plain.item() == pytest.approx(-1.0) and weighted.item() == pytest.approx(-(1 + 1.5) / 2)
    weighted.backward()
    assert old.grad is None and logp.grad is not None
