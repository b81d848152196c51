"""Truncated importance sampling (TIS) for the mismatch between the inference server and the trainer.

The server's log-probs of the tokens it sampled are the behaviour policy; the trainer's own, computed on
the same tokens before the update, are pi_old. Kernels, precision and batching differ, so the two are not
equal even for the same weights, and with `max_off_policy_steps` > 0 the server's weights are older too.
As veRL (`tis_imp_ratio_cap`) and slime (`tis_clip`) do, each token's policy-gradient loss is weighted by

    w = min(exp(logp_old_trainer - logp_server), cap)

with no gradient through w (both log-probs are fixed data), while the PPO ratio pi / pi_old is clipped as
usual. The KL term is not weighted.
"""

from __future__ import annotations

import torch


def truncated_is(old_logp: torch.Tensor, server_logp: torch.Tensor, mask: torch.Tensor, cap: float | None
                 ) -> tuple[torch.Tensor | None, dict[str, float]]:
    """The per-token TIS weights (None when `cap` is None: no correction) and the mismatch metrics:
    mean |delta log p|, and the ratio's mean, std, min, max and the share of tokens the cap clipped."""
    with torch.no_grad():
        log_ratio = (old_logp - server_logp).float()
        ratio = log_ratio.exp()
        kept = mask.bool()
        r, d = ratio[kept], log_ratio[kept]
        stats: dict[str, float] = {}
        if r.numel():
            stats = {"mismatch/abs_logp_diff": d.abs().mean().item(), "mismatch/ratio_mean": r.mean().item(),
                     "mismatch/ratio_std": r.std().item() if r.numel() > 1 else 0.0,
                     "mismatch/ratio_min": r.min().item(), "mismatch/ratio_max": r.max().item(),
                     "mismatch/tis_clipped": (r > cap).float().mean().item() if cap is not None else 0.0}
        weights = None if cap is None else ratio.clamp(max=cap).to(old_logp.dtype).detach()
    return weights, stats
