"""GRPO's pieces, with the paper's names: group advantages, the clipped surrogate, KL to the reference.

Shapes: rewards [B] with `group_size` consecutive rows per prompt; per-token tensors [B, T]
with a 0/1 `mask` over completion tokens. PPO (`trainer.ppo`) reuses the surrogate, the KL
estimators and the token mean.
"""

from __future__ import annotations

import torch

from trainer.config import GRPOConfig


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group", eps: float = 1e-4) -> torch.Tensor:
    """A_i = (r_i - mean(group)) / std, std of the group, of the batch, or 1 (`scale`: group|batch|none)."""
    groups = rewards.view(-1, group_size)
    centered = groups - groups.mean(1, keepdim=True)
    if scale == "group":
        centered = centered / (groups.std(1, keepdim=True) + eps)
    elif scale == "batch":
        centered = centered / (rewards.std() + eps)
    return centered.reshape(-1)


def zero_variance_fraction(rewards: torch.Tensor, group_size: int) -> float:
    """Share of groups in which every completion got the same reward (they carry no signal)."""
    groups = rewards.view(-1, group_size)
    return (groups.max(1).values == groups.min(1).values).float().mean().item()


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, estimator: str = "k3") -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) from samples of pi: k1 = log r, k3 = (1/r) - 1 + log r."""
    log_ratio = logp - ref_logp
    if estimator == "k1":
        return log_ratio
    return torch.exp(-log_ratio) - 1 + log_ratio


def clipped_surrogate(
    ratio: torch.Tensor, advantages: torch.Tensor, epsilon_low: float, epsilon_high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token -min(ratio * A, clip(ratio, 1-eps_low, 1+eps_high) * A), and where clipping bit.

    `ratio` is pi / pi_old per token; `advantages` is per sequence [B] or per token [B, T].
    """
    adv = advantages.unsqueeze(-1) if advantages.dim() == 1 else advantages
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high) * adv
    return -torch.min(unclipped, clipped), (clipped < unclipped).float()


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean of `x` over the masked positions, as a number for the metrics."""
    return ((x * mask).sum() / mask.sum().clamp(min=1)).item()


def token_mean(per_token: torch.Tensor, mask: torch.Tensor, n_tokens: float) -> torch.Tensor:
    """Sum over a micro-batch's masked tokens divided by the whole batch's token count (DAPO's token-level mean)."""
    return (per_token * mask).sum() / max(n_tokens, 1)


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, loss_type: str, n_seqs: int, n_tokens: float,
              max_len: int) -> torch.Tensor:
    """Reduce a per-token loss to a scalar; normalisers are of the whole batch so micro-batches add up.

    grpo: mean over each sequence's tokens, then over sequences. dapo: over all tokens of the batch.
    dr_grpo: sum over tokens divided by a constant, sequences x max completion length.
    """
    if loss_type == "grpo":
        masked = per_token * mask
        return (masked.sum(-1) / mask.sum(-1).clamp(min=1)).sum() / n_seqs
    if loss_type == "dapo":
        return token_mean(per_token, mask, n_tokens)
    if loss_type == "dr_grpo":
        return (per_token * mask).sum() / (n_seqs * max_len)
    raise ValueError(f"unknown loss_type {loss_type!r}")


def grpo_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor | None, advantages: torch.Tensor,
    mask: torch.Tensor, cfg: GRPOConfig, n_seqs: int, n_tokens: float, max_len: int,
    is_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The GRPO objective for one micro-batch: clipped surrogate + beta * KL, aggregated per `loss_type`.

    `old_logp` are the behaviour log-probs kept at sampling time (the trainer's own, with an inference
    server); `advantages` are per sequence; `is_weight` the truncated importance weights of the
    server/trainer mismatch (`trainer.mismatch`), multiplying the surrogate per token.
    """
    ratio = torch.exp(logp - old_logp)
    per_token, clipped = clipped_surrogate(ratio, advantages, cfg.epsilon_low, cfg.epsilon_high)
    if is_weight is not None:
        per_token = per_token * is_weight
    stats = {"clip_fraction": masked_mean(clipped, mask)}
    if ref_logp is not None:
        kl = kl_penalty(logp, ref_logp, cfg.kl_estimator)
        per_token = per_token + cfg.beta * kl
        stats["kl"] = masked_mean(kl, mask)
    return aggregate(per_token, mask, cfg.loss_type, n_seqs, n_tokens, max_len), stats
