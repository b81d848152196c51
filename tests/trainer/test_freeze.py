"""Freezing: `model.freeze: [embeddings]` and `model.freeze_layers: N`, in full fine-tuning and with LoRA."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file
from torch import nn

from trainer.config import LoraConfig, ModelConfig, OptimConfig, SFTConfig
from trainer.models import decoder_layers, load_policy
from trainer.problems import Problem
from trainer.sft import sft
from trainer.tasks import arithmetic, demonstrations
from trainer.tiny import save_tiny
from trainer.train import train

from .test_train import config

pytestmark = pytest.mark.timeout(900)


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(model_dir / "model.safetensors")


def changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> set[str]:
    return {name for name in before if not torch.equal(before[name], after[name])}


def test_grpo_leaves_frozen_embeddings_and_first_layer_unchanged(warm_model: Path, reward_url: str,
                                                                  tmp_path: Path) -> None:
    """Full fine-tuning of the 2-layer model with embeddings and layer 0 frozen: a GRPO run changes every other
    weight and none of those (the output head is tied to the embeddings: one tensor, frozen with them)."""
    cfg = config(warm_model, reward_url, tmp_path / "grpo", steps=3)
    cfg.model = ModelConfig(path=str(warm_model), freeze=["embeddings"], freeze_layers=1)
    out = train(cfg)
    before, after = weights(warm_model), weights(out / "final")
    assert "lm_head.weight" not in after  # tied: saved once, as the embeddings
    frozen = {n for n in before if n == "model.embed_tokens.weight" or n.startswith("model.layers.0.")}
    assert len(frozen) == 10  # embeddings + layer 0's q, k, v, o, gate, up, down and two norms
    assert changed(before, after) == set(before) - frozen


def test_lora_adds_no_adapters_to_frozen_layers_and_sft_changes_only_the_others(tmp_path: Path) -> None:
    base = save_tiny(tmp_path / "base", hidden=32, layers=3, heads=2)
    lora = ModelConfig(path=str(base), lora=LoraConfig(r=4), freeze_layers=2)
    policy = load_policy(lora, torch.device("cpu"))
    adapted = {name.split(".layers.")[1].split(".")[0] for name, _ in policy.named_parameters() if "lora_" in name}
    assert adapted == {"2"}
    assert all(("lora_" in n) == p.requires_grad for n, p in policy.named_parameters())

    rows = [Problem(**r) for r in demonstrations(arithmetic(64, seed=1, digits=1), wrong_fraction=0.0, seed=2)]
    merged = sft(SFTConfig(model=lora, optim=OptimConfig(lr=1e-2, micro_batch=32), batch_size=32, epochs=2,
                           output_dir=str(tmp_path / "sft")), rows)
    before, after = weights(base), weights(merged)
    assert changed(before, after) and all(".layers.2." in name for name in changed(before, after))


def test_the_trainable_parameter_count_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    base = save_tiny(tmp_path / "base", hidden=32, layers=2, heads=2)
    full = load_policy(ModelConfig(path=str(base)), torch.device("cpu"))
    total = sum(p.numel() for p in full.parameters())
    embeddings = full.get_input_embeddings().weight.numel()
    layer0 = sum(p.numel() for p in decoder_layers(full)[1][0].parameters())
    with caplog.at_level(logging.INFO, logger="rlvr.trainer"):
        frozen = load_policy(ModelConfig(path=str(base), freeze=["embeddings"], freeze_layers=1), torch.device("cpu"))
    trainable = total - embeddings - layer0
    assert sum(p.numel() for p in frozen.parameters() if p.requires_grad) == trainable
    assert f"trainable parameters: {trainable} of {total}" in caplog.text
    assert "model.embed_tokens, model.layers.0" in caplog.text
    assert "output head is tied to the input embeddings, so it is frozen too" in caplog.text


@pytest.mark.parametrize(("kind", "layers_at"), [("llama", "model.layers"), ("gpt2", "transformer.h"),
                                                  ("gpt_neox", "gpt_neox.layers"), ("opt", "model.decoder.layers")])
def test_the_decoder_layers_are_found_in_each_architecture(kind: str, layers_at: str) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    sizes = {"hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 3, "intermediate_size": 32,
             "vocab_size": 64}
    if kind == "opt":
        sizes |= {"ffn_dim": 32, "word_embed_proj_dim": 16}
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(kind, **sizes))
    name, layers = decoder_layers(model)
    assert name == layers_at and len(layers) == 3


def test_a_model_without_a_recognisable_layer_list_is_refused_clearly() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = type("Config", (), {"num_hidden_layers": 3})()
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    with pytest.raises(ValueError, match=r"cannot tell the decoder layers of Odd .*num_hidden_layers=3.*\('blocks', 2\)"):
        decoder_layers(Odd())


def test_freezing_more_layers_than_the_model_has_or_an_unknown_part_is_refused(tmp_path: Path) -> None:
    base = save_tiny(tmp_path / "base", hidden=32, layers=2, heads=2)
    with pytest.raises(ValueError, match="freeze_layers=3, but the model has 2 layers"):
        load_policy(ModelConfig(path=str(base), freeze_layers=3), torch.device("cpu"))
    with pytest.raises(ValidationError, match="embeddings"):
        ModelConfig(path=str(base), freeze=["lm_head"])  # type: ignore[list-item]
