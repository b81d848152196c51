"""Checkpoints that resume exactly: weights, optimizer, schedule, RNG states and the rollouts in flight."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

LATEST = "latest"


def rng_state() -> dict[str, Any]:
    """The Python, torch (and CUDA) RNG states of this process."""
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def save(out: Path, step: int, accelerator: Any, model: nn.Module, optimizer: Optimizer, scheduler: LRScheduler,
         tokenizer: Any, in_flight: Sequence[object]) -> Path:
    """Write checkpoint-<step>: a loadable model dir (rank 0), trainer state, and per-rank RNG + rollouts.

    `in_flight` is pickled as it is (the trainer's batches waiting for rewards), and `load` returns it."""
    path = out / f"checkpoint-{step}"
    path.mkdir(parents=True, exist_ok=True)
    unwrapped = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        policy = getattr(unwrapped, "policy", unwrapped)
        policy.save_pretrained(path)
        tokenizer.save_pretrained(path)
        torch.save({"step": step, "model": unwrapped.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict()}, path / "trainer_state.pt")
    torch.save({"rng": rng_state(), "in_flight": in_flight}, path / f"rank{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (out / LATEST).write_text(path.name)
    return path


def load(out: Path, accelerator: Any, model: nn.Module, optimizer: Optimizer, scheduler: LRScheduler
         ) -> tuple[int, list[Any]]:
    """Restore the latest checkpoint in `out`; returns (steps done, rollouts in flight)."""
    pointer = out / LATEST
    if not pointer.exists():
        raise FileNotFoundError(f"no checkpoint to resume in {out}")
    path = out / pointer.read_text().strip()
    state = torch.load(path / "trainer_state.pt", map_location="cpu", weights_only=False)
    accelerator.unwrap_model(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    mine = torch.load(path / f"rank{accelerator.process_index}.pt", map_location="cpu", weights_only=False)
    set_rng_state(mine["rng"])
    return state["step"], mine["in_flight"]
