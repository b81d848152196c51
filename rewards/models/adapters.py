"""Runtime weight updates of a served causal LM: LoRA adapters loaded and unloaded by name (peft), and the
base weights reloaded in place from a checkpoint on disk.

Every method runs on the model thread, between forward passes, so a pass never sees weights half-changed.
The adapters' layers stay disabled except while a request naming one runs (`using`): base-model requests,
and the scoring routes, see the base weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewards.models.loader import LoadedModel


class WeightUpdateError(Exception):
    """A load, unload or reload refused; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Adapters:
    """The LoRA adapters loaded on `lm`'s model, by name."""

    def __init__(self, lm: LoadedModel, served_name: str) -> None:
        self.lm, self.served_name = lm, served_name
        self.peft: Any = None  # the PeftModel wrapping lm.model while any adapter is loaded
        self.paths: dict[str, str] = {}
        self.loaded_total = 0  # adapters loaded since start, for /healthz and tests
        self.reloads = 0  # base weights reloaded from disk

    def load(self, name: str, path: str) -> None:
        if name == self.served_name or name in self.paths:
            raise WeightUpdateError(409, f"an adapter (or the base model) is already served as {name!r}: "
                                         "unload it first, or load under a new name")
        if not (Path(path) / "adapter_config.json").is_file():
            raise WeightUpdateError(400, f"{path!r} holds no adapter_config.json: not a LoRA adapter directory "
                                         "(peft's save_pretrained writes one) on this server's filesystem")
        from peft import PeftModel

        try:
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(self.lm.model, path, adapter_name=name, is_trainable=False)
            else:
                self.peft.load_adapter(path, adapter_name=name, is_trainable=False)
        except Exception as exc:  # noqa: BLE001 - a bad adapter (wrong base, shapes) is the client's error
            if not self.paths:
                self._drop_peft()
            raise WeightUpdateError(400, f"cannot load adapter {name!r} from {path!r}: "
                                         f"{type(exc).__name__}: {exc}"[:500]) from exc
        self.peft.base_model.disable_adapter_layers()
        self.paths[name] = path
        self.loaded_total += 1

    def unload(self, name: str) -> None:
        if name not in self.paths:
            raise WeightUpdateError(404, f"no adapter {name!r} is loaded; loaded: {sorted(self.paths)}")
        self.peft.delete_adapter(name)
        del self.paths[name]
        if not self.paths:
            self._drop_peft()

    def _drop_peft(self) -> None:
        """Take the LoRA layers out again: the base model is as loaded, its weights reloadable."""
        if self.peft is not None:
            self.peft.unload()
            self.peft = None

    def reload(self, path: str) -> None:
        """Copy the weights of the checkpoint at `path` into the served model (same architecture)."""
        if self.paths:
            raise WeightUpdateError(409, f"adapters are loaded ({sorted(self.paths)}): unload them before "
                                         "reloading the base weights")
        import torch
        from transformers import AutoModelForCausalLM

        model = self.lm.model
        try:
            new = AutoModelForCausalLM.from_pretrained(path, dtype=next(model.parameters()).dtype)
            with torch.no_grad():
                model.load_state_dict(new.state_dict(), strict=True)
        except Exception as exc:  # noqa: BLE001 - a missing or mismatched checkpoint is the client's error
            raise WeightUpdateError(400, f"cannot load weights from {path!r}: {type(exc).__name__}: {exc}"[:500]
                                    ) from exc
        self.reloads += 1

    @contextlib.contextmanager
    def using(self, name: str | None) -> Iterator[Any]:
        """The model to run for `name`: the base (None, or the served name), or the base with that adapter on."""
        if name is None or name == self.served_name:
            yield self.lm.model
            return
        if name not in self.paths:
            raise WeightUpdateError(404, f"adapter {name!r} was unloaded")
        self.peft.set_adapter(name)
        self.peft.base_model.enable_adapter_layers()
        try:
            yield self.peft
        finally:
            self.peft.base_model.disable_adapter_layers()
