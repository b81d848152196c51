"""The loss math against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.config import GRPOConfig
from trainer.grpo import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    grpo_loss,
    kl_penalty,
    zero_variance_fraction,
)
from trainer.ppo import gae, token_rewards, value_loss, whiten


def approx(values: list[float], abs: float = 1e-3):  # noqa: A002
    return pytest.approx(values, abs=abs)


def test_group_advantages_scale_by_group_std() -> None:
    # mean 0.25, sample std 0.5 -> (1 - 0.25) / 0.5 = 1.5 and (0 - 0.25) / 0.5 = -0.5
    adv = group_advantages(torch.tensor([1.0, 0, 0, 0, 1, 1, 1, 1]), group_size=4, scale="group")
    assert adv.tolist() == approx([1.5, -0.5, -0.5, -0.5, 0, 0, 0, 0])


def test_group_advantages_unscaled_and_batch_scaled() -> None:
    rewards = torch.tensor([1.0, 0, 0, 0, 1, 1, 1, 1])
    assert group_advantages(rewards, 4, "none").tolist() == approx([0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0])
    batch_std = math.sqrt((5 * 0.375**2 + 3 * 0.625**2) / 7)  # 0.5175
    expected = [0.75 / batch_std] + [-0.25 / batch_std] * 3 + [0] * 4
    assert group_advantages(rewards, 4, "batch").tolist() == approx(expected)


def test_zero_variance_fraction() -> None:
    assert zero_variance_fraction(torch.tensor([1.0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]), 4) == pytest.approx(2 / 3)


def test_kl_estimators() -> None:
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    assert kl_penalty(logp, ref, "k1").item() == pytest.approx(math.log(2), abs=1e-6)  # log(pi/ref)
    assert kl_penalty(logp, ref, "k3").item() == pytest.approx(0.5 - 1 + math.log(2), abs=1e-6)  # ref/pi-1-log
    same = torch.tensor([-1.3])
    assert kl_penalty(same, same, "k3").item() == 0.0


def test_clipping_takes_the_pessimistic_side() -> None:
    old = torch.zeros(4)
    logp = torch.log(torch.tensor([1.5, 1.5, 0.5, 0.5]))
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    loss, clipped = clipped_surrogate(logp.unsqueeze(0), old.unsqueeze(0), adv.unsqueeze(0), 0.2, 0.2)
    # ratio 1.5, A=+1 -> capped at 1.2; A=-1 -> -1.5 stands; ratio 0.5: A=+1 -> 0.5; A=-1 -> floored at 0.8
    assert loss[0].tolist() == approx([-1.2, 1.5, -0.5, 0.8])
    assert clipped[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    loss_high, _ = clipped_surrogate(logp[:1], old[:1], adv[:1], 0.2, 0.28)  # DAPO's clip-higher
    assert loss_high.item() == pytest.approx(-1.28)


def test_clipped_surrogate_gradient_vanishes_when_clipped() -> None:
    logp = torch.log(torch.tensor([[1.5]])).requires_grad_()
    loss, _ = clipped_surrogate(logp, torch.zeros(1, 1), torch.tensor([1.0]), 0.2, 0.2)
    loss.sum().backward()
    assert logp.grad.item() == 0.0


def test_loss_aggregations() -> None:
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert aggregate(per_token, mask, "grpo", n_seqs=2, n_tokens=4, max_len=3).item() == pytest.approx(3.0)
    assert aggregate(per_token, mask, "dapo", n_seqs=2, n_tokens=4, max_len=3).item() == pytest.approx(2.5)
    assert aggregate(per_token, mask, "dr_grpo", n_seqs=2, n_tokens=4, max_len=3).item() == pytest.approx(10 / 6)


def test_micro_batches_add_up_to_the_full_batch_loss() -> None:
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    for kind in ("grpo", "dapo", "dr_grpo"):
        whole = aggregate(per_token, mask, kind, 2, 5, 3)
        parts = sum(aggregate(per_token[i:i + 1], mask[i:i + 1], kind, 2, 5, 3) for i in range(2))
        assert parts.item() == pytest.approx(whole.item())


def test_grpo_loss_adds_beta_times_kl() -> None:
    cfg = GRPOConfig(beta=0.1, kl_estimator="k1", loss_type="dapo")
    logp = torch.log(torch.tensor([[0.5]]))
    ref = torch.log(torch.tensor([[0.25]]))
    loss, stats = grpo_loss(logp, logp, ref, torch.tensor([2.0]), torch.ones(1, 1), cfg, 1, 1, 1)
    assert loss.item() == pytest.approx(-2.0 + 0.1 * math.log(2), abs=1e-6)  # ratio 1: -A, plus beta * k1
    assert stats["kl"] == pytest.approx(math.log(2), abs=1e-6)


def test_gae_by_hand() -> None:
    rewards, values, mask = torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.6, 0.7]]), torch.ones(1, 3)
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    # deltas 0.1, 0.1, 0.3; A2 = 0.3, A1 = 0.1 + 0.5 * 0.3, A0 = 0.1 + 0.5 * 0.25
    assert adv[0].tolist() == approx([0.225, 0.25, 0.3])
    assert ret[0].tolist() == approx([0.725, 0.85, 1.0])
    adv, _ = gae(rewards, values, mask, gamma=0.9, lam=1.0)  # lam=1: discounted return minus V
    assert adv[0].tolist() == approx([0.81 - 0.5, 0.9 - 0.6, 1.0 - 0.7])


def test_gae_ignores_positions_after_the_end() -> None:
    rewards = torch.tensor([[0.0, 1.0, 5.0]])
    adv, _ = gae(rewards, torch.tensor([[0.2, 0.4, 9.0]]), torch.tensor([[1.0, 1.0, 0.0]]), 1.0, 1.0)
    assert adv[0].tolist() == approx([0.8, 0.6, 0.0])


def test_kl_is_folded_into_token_rewards() -> None:
    logp = torch.log(torch.tensor([[0.5, 0.5, 0.5]]))
    ref = torch.log(torch.tensor([[0.25, 0.5, 0.5]]))
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    rewards = token_rewards(torch.tensor([1.0]), logp, ref, mask, kl_coef=0.1, estimator="k1")
    assert rewards[0].tolist() == approx([-0.1 * math.log(2), 1.0, 0.0], abs=1e-6)


def test_value_loss_is_clipped_pessimistically() -> None:
    loss = value_loss(torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([2.0]), cliprange=0.2)
    assert loss.item() == pytest.approx(0.5 * (0.7 - 2.0) ** 2)  # the clipped value 0.7 is further off


def test_whiten_is_masked() -> None:
    x = torch.tensor([[1.0, 3.0, 100.0]])
    out = whiten(x, torch.tensor([[1.0, 1.0, 0.0]]))
    assert out[0].tolist() == approx([-1.0, 1.0, 0.0])


def test_combine_counts_grader_timeouts_and_errors() -> None:
    from rewards.types import Score
    from trainer.config import RewardConfig
    from trainer.rewards import combine

    cfg = RewardConfig(graders=[{"grader": "math"}, {"grader": "format", "weight": 0.5}])
    math_scores = [Score(reward=1.0), Score(reward=0.0, details={"timeout": True}), Score(reward=0.0, error="down")]
    format_scores = [Score(reward=1.0), Score(reward=1.0), Score(reward=0.0)]
    rewards = combine(cfg, [math_scores, format_scores])
    assert rewards.total == [1.5, 0.5, 0.0]
    assert rewards.valid == [True, True, False]
    assert rewards.timeouts == 1
