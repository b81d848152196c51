"""Paraphrase leakage: eval prompts a train prompt repeats in other words, by the cosine similarity of sentence
embeddings.

The embeddings come from an embedding server speaking OpenAI's `/v1/embeddings` (`rlvr serve-model MODEL --head
embed`, vLLM, TEI), through the reward service's own model-server client (`rewards.models.client`: its time
budget, retries and request chunking), so the check needs no model in this process. The eval prompts are
embedded once and held as one unit-length matrix (10k x 384 floats is 15 MB); the train prompts arrive in
batches, each embedded and compared with every eval prompt in one matrix product, so nothing of the train set
is held beyond its batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import numpy as np

from rewards.models.client import ModelServerClient


def served_model(url: str, timeout_s: float = 30.0) -> str:
    """The first model an OpenAI-compatible server lists at `/v1/models`."""
    answer = httpx.get(url.rstrip("/") + "/v1/models", timeout=timeout_s)
    answer.raise_for_status()
    models = answer.json().get("data") or []
    if not models:
        raise ValueError(f"{url}/v1/models lists no model; name one")
    return str(models[0]["id"])


class Embedder:
    """Blocking calls to one embedding server, on an event loop of its own; `close` when done."""

    def __init__(self, url: str, model: str | None = None, *, max_length: int = 256, budget_s: float = 300.0) -> None:
        self.max_length, self.budget_s = max_length, budget_s
        self.loop = asyncio.new_event_loop()
        self.client = ModelServerClient(url, model or served_model(url))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text (normalized here too: not every server normalizes)."""
        rows = self.loop.run_until_complete(
            self.client.embeddings(list(texts), self.max_length, self.budget_s, share=False))
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        unit: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return unit

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class ParaphraseIndex:
    """The eval prompts' embeddings; `matches` finds, for a batch of train prompts, the eval prompts they repeat."""

    def __init__(self, embedder: Embedder, eval_prompts: Sequence[str], threshold: float, batch: int) -> None:
        self.embedder, self.threshold = embedder, threshold
        parts = [embedder(eval_prompts[i:i + batch]) for i in range(0, len(eval_prompts), batch)]
        self.matrix = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)

    def matches(self, prompts: Sequence[str]) -> list[dict[int, float]]:
        """Per train prompt: eval position -> cosine similarity, for those at or above the threshold."""
        if not prompts or not len(self.matrix):
            return [{} for _ in prompts]
        similarity = self.embedder(prompts) @ self.matrix.T
        return [{int(k): float(row[k]) for k in np.flatnonzero(row >= self.threshold)} for row in similarity]
