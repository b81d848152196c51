"""PPO's pieces: KL folded into per-token rewards, GAE, the clipped value loss.

The policy term is GRPO's clipped surrogate (trainer.grpo.clipped_surrogate) on GAE advantages.
"""

from __future__ import annotations

import torch

from trainer.grpo import kl_penalty


def token_rewards(scores: torch.Tensor, logp: torch.Tensor, ref_logp: torch.Tensor | None, mask: torch.Tensor,
                  kl_coef: float, estimator: str = "k1") -> torch.Tensor:
    """r_t = -kl_coef * KL_t on every token, plus the verifier's score on the last completion token."""
    rewards = torch.zeros_like(mask, dtype=torch.float32)
    if ref_logp is not None and kl_coef:
        rewards = -kl_coef * kl_penalty(logp, ref_logp, estimator) * mask
    last = (mask.sum(-1) - 1).clamp(min=0).long()
    rewards[torch.arange(len(scores)), last] += scores
    return rewards


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation: delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lam A_{t+1}.

    Values past the end of a completion count as 0. Returns (advantages, returns = advantages + values).
    """
    values = values * mask
    advantages = torch.zeros_like(rewards)
    next_advantage = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(next_advantage)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_advantage = (delta + gamma * lam * next_advantage) * mask[:, t]
        advantages[:, t] = next_advantage
    return advantages, advantages + values


def whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero mean, unit variance over the masked entries."""
    n = mask.sum().clamp(min=1)
    mean = (x * mask).sum() / n
    var = (((x - mean) * mask) ** 2).sum() / n
    return (x - mean) * torch.rsqrt(var + eps) * mask


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, cliprange: float
               ) -> torch.Tensor:
    """Per-token 0.5 * max((V - R)^2, (clip(V, V_old +- eps) - R)^2)."""
    clipped = old_values + torch.clamp(values - old_values, -cliprange, cliprange)
    return 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2)
