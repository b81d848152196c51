"""PPO's pieces, with the paper's names: KL folded into per-token rewards, GAE, the clipped value loss, the loss.

The policy term is the clipped surrogate GRPO uses too (`trainer.grpo.clipped_surrogate`), here on
per-token GAE advantages, with PPO's own clip range (`ppo.epsilon_low` / `ppo.epsilon_high`).
Shapes: scores [B]; per-token tensors [B, T] with a 0/1 `mask` over completion tokens.
"""

from __future__ import annotations

import torch

from trainer.config import PPOConfig
from trainer.grpo import clipped_surrogate, kl_penalty, masked_mean, token_mean


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


def ppo_advantages(scores: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor | None,
                   old_values: torch.Tensor, mask: torch.Tensor, cfg: PPOConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token advantages (GAE on the KL-penalised rewards, whitened) and the value targets (returns)."""
    rewards = token_rewards(scores, old_logp, ref_logp, mask, cfg.kl_coef, cfg.kl_estimator)
    advantages, returns = gae(rewards, old_values, mask, cfg.gamma, cfg.lam)
    return whiten(advantages, mask), returns


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, cliprange: float
               ) -> torch.Tensor:
    """Per-token 0.5 * max((V - R)^2, (clip(V, V_old +- eps) - R)^2)."""
    clipped = old_values + torch.clamp(values - old_values, -cliprange, cliprange)
    return 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2)


def ppo_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor | None, advantages: torch.Tensor,
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, cfg: PPOConfig,
    n_tokens: float, is_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The PPO objective for one micro-batch: clipped surrogate + vf_coef * clipped value loss, token mean.

    L = sum over tokens of [-min(ratio * A, clip(ratio, 1 - eps_low, 1 + eps_high) * A) + vf_coef * L_V]
    divided by the whole batch's `n_tokens`, with ratio = pi / pi_old against the behaviour log-probs
    `old_logp`. The KL to the reference is already in the rewards (`token_rewards`), so it is not a
    loss term here: `ref_logp` only feeds the `kl` statistic (k1). `is_weight`: as in `grpo_loss`.
    """
    ratio = torch.exp(logp - old_logp)
    policy_loss, clipped = clipped_surrogate(ratio, advantages, cfg.epsilon_low, cfg.epsilon_high)
    if is_weight is not None:
        policy_loss = policy_loss * is_weight
    critic_loss = value_loss(values, old_values, returns, cfg.cliprange_value)
    loss = token_mean(policy_loss + cfg.vf_coef * critic_loss, mask, n_tokens)
    stats = {"clip_fraction": masked_mean(clipped, mask)}
    if ref_logp is not None:
        stats["kl"] = masked_mean(kl_penalty(logp.detach(), ref_logp, "k1"), mask)
    return loss, stats
