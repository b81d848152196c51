"""The model server's weight-update routes, for an RL trainer that syncs its policy after each update.

- `POST /v1/load_lora_adapter {lora_name, lora_path}` and `POST /v1/unload_lora_adapter {lora_name}`: vLLM's
  runtime LoRA routes; requests choose an adapter by `model: <lora_name>`. The same handlers answer SGLang's
  `/load_lora_adapter` and `/unload_lora_adapter` (same fields, no `/v1`), whose `/generate` requests choose an
  adapter by `lora_path: <lora_name>`.
- `POST /update_weights_from_disk {model_path}`: SGLang's route, the base weights reloaded in place.

They load files named by the request, so they are off unless the server was started with `--weight-updates`
(vLLM gates its own the same way, with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from rewards.models.adapters import Adapters, WeightUpdateError
from rewards.serving.protocol import (
    LoadLoraAdapterRequest,
    UnloadLoraAdapterRequest,
    UpdateWeightsFromDiskRequest,
)


class ServedWeights:
    """A served model's adapters, changed on its model thread (`executor`) between forward passes."""

    def __init__(self, adapters: Adapters, executor: Executor, enabled: bool, causal: bool) -> None:
        self.adapters, self.executor, self.enabled, self.causal = adapters, executor, enabled, causal

    async def change(self, update: Callable[..., None], *args: str) -> None:
        if not self.enabled:
            raise HTTPException(403, "weight updates are off: start serve-model with --weight-updates to let "
                                     "clients load adapters and weights from this server's disk")
        if not self.causal:
            raise HTTPException(400, "weight updates serve generation: this model is not served as a causal LM")
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, update, *args)
        except WeightUpdateError as exc:
            raise HTTPException(exc.status, str(exc)) from exc


def weights_router() -> APIRouter:
    """The weight-update routes over the app's `state.weights`."""
    router = APIRouter()

    def weights(request: Request) -> ServedWeights:
        served: ServedWeights = request.app.state.weights
        return served

    @router.post("/v1/load_lora_adapter")
    @router.post("/load_lora_adapter")
    async def load_lora_adapter(body: LoadLoraAdapterRequest, request: Request) -> dict[str, Any]:
        await weights(request).change(weights(request).adapters.load, body.lora_name, body.lora_path)
        return {"success": True, "status": "ok", "lora_name": body.lora_name}

    @router.post("/v1/unload_lora_adapter")
    @router.post("/unload_lora_adapter")
    async def unload_lora_adapter(body: UnloadLoraAdapterRequest, request: Request) -> dict[str, Any]:
        await weights(request).change(weights(request).adapters.unload, body.lora_name)
        return {"success": True, "status": "ok", "lora_name": body.lora_name}

    @router.post("/update_weights_from_disk")
    async def update_weights_from_disk(body: UpdateWeightsFromDiskRequest, request: Request) -> dict[str, Any]:
        await weights(request).change(weights(request).adapters.reload, body.model_path)
        return {"success": True, "message": f"weights loaded from {body.model_path}"}

    return router
