"""The `local` judge: the judge model on a model server (a private `rlvr serve-model` started on first use,
or the one `model_servers` names), asked over its OpenAI-compatible chat API like any other endpoint."""

from __future__ import annotations

from typing import Any

from rewards.errors import JudgeUnavailable
from rewards.judge.backends import Messages, OpenAIBackend
from rewards.models.servers import ModelServers, ServerNeed


class LocalBackend:
    """Chat completions from the model server serving `need` (a causal LM), batched there."""

    def __init__(self, servers: ModelServers, need: ServerNeed, timeout_s: float, retries: int,
                 concurrency: int) -> None:
        self.servers, self.need = servers, need
        self.key = f"local:{need.model}"
        self.options = (timeout_s, retries, concurrency)
        self._backends: dict[str, OpenAIBackend] = {}

    async def complete(self, messages: Messages, sampling: dict[str, Any]) -> str:
        try:
            url = await self.servers.url(self.need)
        except Exception as exc:  # noqa: BLE001 - the judge model could not be served: machinery
            raise JudgeUnavailable(f"local judge failed: {type(exc).__name__}: {exc}"[:500]) from exc
        if url not in self._backends:
            self._backends[url] = OpenAIBackend(url + "/v1", self.need.model, None, *self.options)
        try:
            return await self._backends[url].complete(messages, sampling)
        except JudgeUnavailable:
            await self.servers.recover(self.need)
            raise

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
