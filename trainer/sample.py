"""Rejection sampling: N completions per prompt, keep those the graders verify, write an SFT dataset."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from rewards.types import Sample
from trainer.config import SampleConfig
from trainer.data import format_prompt, load_problems
from trainer.generation import GenerationBackend, TransformersBackend
from trainer.models import load_policy, load_tokenizer
from trainer.rollout_server import server_backend
from trainer.scoring import Scorer


def rejection_sample(cfg: SampleConfig, batch_prompts: int = 32) -> dict[str, int]:
    """Write `{prompt, response, reference, reward}` rows to `cfg.output`; distinct accepted responses only."""
    torch.manual_seed(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = load_tokenizer(cfg.model.path)
    backend: GenerationBackend = (  # a server samples from the weights it serves: no local copy, no sync
        server_backend(cfg.rollout, cfg.model, tokenizer, Path(cfg.output).parent, device, seed=cfg.seed)
        if cfg.rollout.backend == "server" else TransformersBackend(load_policy(cfg.model, device), tokenizer,
                                                                     cfg.rollout))
    problems = load_problems(cfg.data, seed=cfg.seed)
    scorer = Scorer(cfg.reward)
    n, generated, kept = cfg.rollout.group_size, 0, 0
    seen: set[tuple[str, str]] = set()
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with out.open("w") as f:
            for begin in range(0, len(problems), batch_prompts):
                chunk = problems[begin: begin + batch_prompts]
                rollouts = backend.generate([format_prompt(tokenizer, p.prompt, cfg.model) for p in chunk], n)
                owners = [p for p in chunk for _ in range(n)]
                rewards = scorer.score([Sample(prompt=p.prompt, completion=t, reference=p.reference)
                                        for p, t in zip(owners, rollouts.texts, strict=True)])
                generated += len(owners)
                if rewards is None:
                    continue  # the service is down: nothing verified, nothing written
                for p, text, reward, ok, cut in zip(owners, rollouts.texts, rewards.total, rewards.valid,
                                                   rollouts.truncated.tolist(), strict=True):
                    if ok and not cut and reward >= cfg.reward.success_threshold and (p.prompt, text) not in seen:
                        seen.add((p.prompt, text))
                        f.write(json.dumps({"prompt": p.prompt, "response": text, "reference": p.reference,
                                            "reward": reward}) + "\n")
                        kept += 1
    finally:
        scorer.close()
        backend.close()
    return {"prompts": len(problems), "generated": generated, "kept": kept}
