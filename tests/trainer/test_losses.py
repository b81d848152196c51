"""The loss math against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.config import GRPOConfig, PPOConfig
from trainer.grpo import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    grpo_loss,
    kl_penalty,
    zero_variance_fraction,
)
from trainer.ppo import gae, ppo_advantages, ppo_loss, token_rewards, value_loss, whiten


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
    ratio = torch.tensor([1.5, 1.5, 0.5, 0.5])
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    loss, clipped = clipped_surrogate(ratio.unsqueeze(0), adv.unsqueeze(0), 0.2, 0.2)
    # ratio 1.5, A=+1 -> capped at 1.2; A=-1 -> -1.5 stands; ratio 0.5: A=+1 -> 0.5; A=-1 -> floored at 0.8
    assert loss[0].tolist() == approx([-1.2, 1.5, -0.5, 0.8])
    assert clipped[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    loss_high, _ = clipped_surrogate(ratio[:1], adv[:1], 0.2, 0.28)  # DAPO's clip-higher
    assert loss_high.item() == pytest.approx(-1.28)


def test_clipped_surrogate_gradient_vanishes_when_clipped() -> None:
    logp = torch.log(torch.tensor([[1.5]])).requires_grad_()
    loss, _ = clipped_surrogate(torch.exp(logp), torch.tensor([1.0]), 0.2, 0.2)
    loss.sum().backward()
    assert logp.grad is not None and logp.grad.item() == 0.0


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
    from trainer.scoring import combine

    cfg = RewardConfig(graders=[{"grader": "math"}, {"grader": "format", "weight": 0.5}])
    math_scores = [Score(reward=1.0), Score(reward=0.0, details={"timeout": True}), Score(reward=0.0, error="down")]
    format_scores = [Score(reward=1.0), Score(reward=1.0), Score(reward=0.0)]
    rewards = combine(cfg, [math_scores, format_scores])
    assert rewards.total == [1.5, 0.5, 0.0]
    assert rewards.valid == [True, True, False]
    assert rewards.timeouts == 1


def log_ratio(ratios: list[float]) -> torch.Tensor:
    """Log-probs whose ratio to old log-probs of 0 is `ratios`, as one sequence [1, T]."""
    return torch.log(torch.tensor([ratios]))


def test_ppo_loss_by_hand() -> None:
    cfg = PPOConfig(epsilon_low=0.2, epsilon_high=0.2, vf_coef=0.5, cliprange_value=0.2)
    logp, old_logp = log_ratio([1.1, 0.9, 5.0]), torch.zeros(1, 3)  # ratios inside the clip range, then padding
    advantages = torch.tensor([[1.0, -2.0, 100.0]])
    values, old_values, returns = torch.tensor([[0.5, 0.0, 9.0]]), torch.tensor([[0.4, 0.1, 0.0]]), \
        torch.tensor([[1.0, -1.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    ref_logp = logp - torch.tensor([[0.2, -0.1, 3.0]])
    loss, stats = ppo_loss(logp, old_logp, ref_logp, advantages, values, old_values, returns, mask, cfg, n_tokens=2)
    # policy: -ratio * A = -1.1 and +1.8. value: 0.5 * (V - R)^2 = 0.125 and 0.5 (the clipped V is no further off)
    expected = ((-1.1 + 0.5 * 0.125) + (1.8 + 0.5 * 0.5)) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert stats["clip_fraction"] == 0.0
    assert stats["kl"] == pytest.approx((0.2 - 0.1) / 2, abs=1e-6)  # k1 over the unmasked tokens
    _, without_ref = ppo_loss(logp, old_logp, None, advantages, values, old_values, returns, mask, cfg, 2)
    assert "kl" not in without_ref


def test_ppo_loss_clips_the_ratio_on_both_sides_with_its_own_range() -> None:
    cfg = PPOConfig(epsilon_low=0.1, epsilon_high=0.3)
    logp = log_ratio([1.5, 0.5, 1.5, 0.5]).requires_grad_()
    advantages = torch.tensor([[2.0, -1.0, -1.0, 1.0]])  # unequal sizes: swapped clip bounds would not add up alike
    values = torch.zeros(1, 4)  # no value error: the loss is the policy term alone
    loss, stats = ppo_loss(logp, torch.zeros(1, 4), None, advantages, values, values, values, torch.ones(1, 4), cfg, 4)
    # ratio 1.5, A=+2: capped at 1 + 0.3; ratio 0.5, A=-1: floored at 1 - 0.1; the other two are not clipped
    assert loss.item() == pytest.approx((-1.3 * 2 + 0.9 + 1.5 - 0.5) / 4, abs=1e-6)
    assert stats["clip_fraction"] == pytest.approx(0.5)
    loss.backward()
    assert logp.grad is not None
    assert logp.grad[0, :2].tolist() == [0.0, 0.0]  # clipped tokens pass no gradient
    assert logp.grad[0, 2:].tolist() == approx([1.5 / 4, -0.5 / 4], abs=1e-6)  # d(-ratio * A)/dlogp / n


def test_ppo_value_loss_is_clipped_on_both_sides() -> None:
    cfg = PPOConfig(vf_coef=1.0, cliprange_value=0.2)
    values, old_values, returns = torch.tensor([[0.5, -0.5]]), torch.zeros(1, 2), torch.tensor([[0.4, -0.4]])
    zero = torch.zeros(1, 2)
    loss, _ = ppo_loss(zero, zero, None, zero, values, old_values, returns, torch.ones(1, 2), cfg, 2)
    # V moved 0.5 from V_old in each direction: clipped to +-0.2, which is 0.2 from R (worse than 0.1 unclipped)
    assert loss.item() == pytest.approx(0.5 * 0.2**2, abs=1e-6)


def test_ppo_loss_ignores_masked_tokens_and_micro_batches_add_up() -> None:
    cfg = PPOConfig()
    logp = log_ratio([1.1, 0.7, 1.3]).repeat(2, 1).requires_grad_()
    old_logp = torch.zeros(2, 3)
    advantages = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, -3.0]])
    values, old_values = torch.tensor([[0.3, 0.2, 0.1], [0.0, 0.5, 1.0]]), torch.zeros(2, 3)
    returns = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    whole, _ = ppo_loss(logp, old_logp, None, advantages, values, old_values, returns, mask, cfg, n_tokens=3)
    parts = sum(ppo_loss(logp[i:i + 1], old_logp[i:i + 1], None, advantages[i:i + 1], values[i:i + 1],
                         old_values[i:i + 1], returns[i:i + 1], mask[i:i + 1], cfg, n_tokens=3)[0] for i in range(2))
    assert isinstance(parts, torch.Tensor) and parts.item() == pytest.approx(whole.item(), abs=1e-6)
    junk = advantages.masked_fill(mask == 0, 1e6), values.masked_fill(mask == 0, -1e6)
    changed, _ = ppo_loss(logp, old_logp, None, junk[0], junk[1], old_values, returns, mask, cfg, n_tokens=3)
    assert changed.item() == pytest.approx(whole.item(), abs=1e-6)  # what lies under the mask never counts
    whole.backward()
    assert logp.grad is not None and logp.grad[mask == 0].abs().sum().item() == 0.0


def test_ppo_advantages_are_whitened_gae_on_kl_penalised_rewards() -> None:
    cfg = PPOConfig(gamma=1.0, lam=1.0, kl_coef=0.0)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    advantages, returns = ppo_advantages(torch.tensor([1.0, 0.0]), torch.zeros(2, 2), None, torch.zeros(2, 2),
                                         mask, cfg)
    assert returns.tolist() == [[1.0, 1.0], [0.0, 0.0]]  # lam=1, V=0: the score, returned to every token
    # unwhitened advantages 1, 1, 0 over the mask: mean 2/3, std sqrt(2)/3; the padding stays 0
    half = 1 / math.sqrt(2)
    assert advantages.flatten().tolist() == approx([half, half, -2 * half, 0.0])
