"""Rollouts from inference servers over HTTP, and the weight sync after each update.

The servers speak vLLM's API (`rollout.server_api: vllm`: vLLM, `rlvr serve-model`) or SGLang's native one
(`sglang`: SGLang, `rlvr serve-model`); `trainer.server_api` holds the two's routes and shapes. One request per
prompt asks for its G completions; the prompt goes as token ids and the completions come back as token ids
with the log-prob of each sampled token, so the trainer never re-tokenizes text. Requests go to the server
with the fewest in flight (ties in turn), each retried through `rewards.retry`.
With `rollout.seed_requests`, each request carries a seed (vLLM's `seed`, SGLang's `sampling_params.sampling_seed`;
serve-model honours both), derived from the run's seed, the rank, the number of the `generate` call and the
prompt's position: the same run samples the same completions whatever the server batches them with.

Weight sync (`sync`, after every optimizer step), on every server:
- LoRA: the adapter is saved under `sync_dir`, loaded by a new name (vLLM's `POST /v1/load_lora_adapter`,
  SGLang's `POST /load_lora_adapter`), the next requests name it (`model`; SGLang: `lora_path`), and the previous
  adapter is unloaded and its files removed.
- Full fine-tuning: the model is saved under `sync_dir` and reloaded in place
  (`POST /update_weights_from_disk {model_path}`: SGLang's route; serve-model has it too).
The directory must be one the servers can read at the same path (one machine, or a shared volume).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import torch

from rewards.retry import Backoff, send
from trainer.config import ModelConfig, RolloutConfig, TrainConfig
from trainer.generation import GenerationBackend, Rollouts, TransformersBackend, decode_completions
from trainer.server_api import API, Completion, RolloutRequest, ServerError


class ServerBackend:
    """Sampling on inference servers; `sync` pushes the policy's weights to them after each update."""

    def __init__(self, tokenizer: Any, cfg: RolloutConfig, base_name: str, sync_dir: Path, push: bool = True,
                 device: torch.device | None = None, max_prompt_tokens: int = 1024,
                 seeds: tuple[int, ...] | None = None) -> None:
        """`push`: this process saves and loads the weights (the main one; the others only follow the names);
        `device`: where the rollouts' tensors go (the policy's); `seeds`: what the requests' seeds are derived
        from (the run's seed and the rank; None: requests are not seeded)."""
        self.tokenizer, self.cfg, self.push, self.max_prompt_tokens = tokenizer, cfg, push, max_prompt_tokens
        self.api = API[cfg.server_api]
        self.device = device or torch.device("cpu")
        self.urls = [u.rstrip("/") for u in cfg.server_urls]
        self.base_name = self.served = base_name  # `served`: what requests ask for, the newest adapter under LoRA
        self.sync_dir = sync_dir.resolve()
        self.prefix = "rlvr-" + hashlib.sha1(str(self.sync_dir).encode()).hexdigest()[:8]  # one run's adapters
        self.version = 0
        self.seeds, self.calls = seeds, 0  # `calls`: generate calls so far, a part of each request's seed
        self.saved: Path | None = None  # the weights the servers hold now (removed once replaced)
        self.client = httpx.Client(timeout=httpx.Timeout(cfg.server_timeout_s, connect=10.0))
        self.backoff = Backoff(budget_s=cfg.server_retry_budget_s)
        self.pool = ThreadPoolExecutor(32, thread_name_prefix="rollout")
        self.busy = dict.fromkeys(self.urls, 0)
        self.turn = 0
        self.lock = threading.Lock()

    # ---- HTTP -----------------------------------------------------------------------------------------------
    def _attempt(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """One try, on the server with the fewest requests in flight (in turn among equals)."""
        with self.lock:
            order = self.urls[self.turn:] + self.urls[:self.turn]
            url = min(order, key=self.busy.__getitem__)
            self.turn = (self.turn + 1) % len(self.urls)
            self.busy[url] += 1
        try:
            return self.client.post(url + path, json=body)
        finally:
            with self.lock:
                self.busy[url] -= 1

    def _post(self, path: str, body: dict[str, Any], url: str | None = None) -> Any:
        """POST to `url` (or a balanced pick), retried; a final error status raises with the server's reason."""
        request = (lambda: self.client.post(url + path, json=body)) if url else (lambda: self._attempt(path, body))
        response = send(request, self.backoff)
        if response.status_code >= 400:
            raise ServerError(f"{response.request.url}: {response.status_code} {response.text[:500]}")
        return response.json()

    # ---- generation ----------------------------------------------------------------------------------------
    def _complete(self, prompt_ids: list[int], n: int, greedy: bool, seed: int | None) -> list[Completion]:
        cfg, lora = self.cfg, self.served != self.base_name
        req = RolloutRequest(prompt_ids, n, cfg.max_new_tokens, 0.0 if greedy else cfg.temperature,
                             1.0 if greedy else cfg.top_p, cfg.stop, self.served, self.served if lora else None, seed)
        completions = self.api.read(self._post(self.api.generate, self.api.body(req)))
        if len(completions) != n:
            raise ServerError(f"asked for {n} completions, got {len(completions)}")
        return completions

    def generate(self, prompts: list[str], group_size: int, greedy: bool = False) -> Rollouts:
        tok = self.tokenizer
        enc = tok(prompts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_prompt_tokens,
                  add_special_tokens=False)
        ids = [row[mask.bool()].tolist() for row, mask in zip(enc["input_ids"], enc["attention_mask"], strict=True)]
        seeds = [request_seed(*self.seeds, self.calls, i) if self.seeds is not None else None for i in range(len(ids))]
        self.calls += 1
        answers = [self.pool.submit(self._complete, p, group_size, greedy, s) for p, s in zip(ids, seeds, strict=True)]
        completions = [c for answer in answers for c in answer.result()]
        width = max([1, *(len(c.token_ids) for c in completions)])
        completion_ids = torch.full((len(completions), width), tok.pad_token_id, dtype=torch.long)
        behaviour = torch.zeros(len(completions), width)
        mask = torch.zeros(len(completions), width, dtype=torch.long)
        for row, c in enumerate(completions):
            completion_ids[row, :len(c.token_ids)] = torch.tensor(c.token_ids, dtype=torch.long)
            behaviour[row, :len(c.token_ids)] = torch.tensor(c.logprobs)
            mask[row, :len(c.token_ids)] = 1
        texts, _ = decode_completions(tok, completion_ids, mask, self.cfg.stop)
        return Rollouts(
            prompt_ids=enc["input_ids"].repeat_interleave(group_size, 0),
            prompt_mask=enc["attention_mask"].repeat_interleave(group_size, 0),
            completion_ids=completion_ids, completion_mask=mask, behaviour_logprobs=behaviour,
            truncated=torch.tensor([c.truncated for c in completions]), texts=texts,
        ).to(self.device)

    # ---- weight sync ---------------------------------------------------------------------------------------
    def sync(self, policy: torch.nn.Module, version: int) -> None:
        """Put the weights after `version` updates on every server; later requests sample from them."""
        if version == self.version:
            return
        lora = hasattr(policy, "peft_config")
        name = f"{self.prefix}-step{version}" if lora else self.base_name
        if self.push:
            path = self.sync_dir / f"step{version}"
            save: Any = policy  # a transformers or peft model
            save.save_pretrained(path)
            for url in self.urls:
                if lora:
                    self._post(self.api.load_lora, {"lora_name": name, "lora_path": str(path)}, url)
                    if self.served != self.base_name:
                        self._post(self.api.unload_lora, {"lora_name": self.served}, url)
                else:
                    self._post("/update_weights_from_disk", {"model_path": str(path)}, url)
            if self.saved is not None:
                shutil.rmtree(self.saved, ignore_errors=True)
            self.saved = path
        self.served, self.version = name, version

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()


def request_seed(*parts: int) -> int:
    """A request's seed (0 .. 2**63 - 1) from the integers that place it: a hash, so nearby runs, calls and
    positions get unrelated seeds."""
    digest = hashlib.sha256(",".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def server_backend(rollout: RolloutConfig, model: ModelConfig, tokenizer: Any, output_dir: Path,
                   device: torch.device, push: bool = True, seed: int = 0, rank: int = 0) -> ServerBackend:
    """The servers of `rollout`, serving `model`'s base as `rollout.server_model` (default: its path); requests
    seeded from the run's `seed` and `rank` when `rollout.seed_requests`."""
    sync_dir = Path(rollout.sync_dir or output_dir / "sync")
    return ServerBackend(tokenizer, rollout, rollout.server_model or model.path, sync_dir, push, device,
                         seeds=(seed, rank) if rollout.seed_requests else None)


def make_backend(cfg: TrainConfig, policy: torch.nn.Module, tokenizer: Any, push: bool, rank: int = 0
                 ) -> GenerationBackend:
    """The rollout backend `cfg.rollout.backend` names."""
    if cfg.rollout.backend == "transformers":
        return TransformersBackend(policy, tokenizer, cfg.rollout)
    return server_backend(cfg.rollout, cfg.model, tokenizer, Path(cfg.output_dir), next(policy.parameters()).device,
                          push, cfg.seed, rank)
