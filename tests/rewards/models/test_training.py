"""Training paths the end-to-end test does not take: LoRA reward models, and a causal-LM (Math-Shepherd style) PRM."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from rewards.graders import parse_spec
from rewards.graders.base import GraderContext
from rewards.graders.process import ProcessGrader
from rewards.types import Sample
from tests.rewards.models.toy import step, write_pairs, write_steps
from trainer.config import LoraConfig, PRMConfig, RewardModelConfig
from trainer.prm import train_prm
from trainer.reward_model import train_reward_model
from trainer.tiny_heads import STEP_TAG, save_tiny_head


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_lora_reward_model_is_saved_merged(tmp_path):
    base = save_tiny_head(tmp_path / "base", "reward", chat_template=False, hidden=32, layers=1)
    data = write_pairs(tmp_path / "pairs.jsonl", 200, 3)
    card = train_reward_model(RewardModelConfig(
        model=str(base), output_dir=str(tmp_path / "out"), data=str(data), epochs=2, batch_size=16, lr=1e-2,
        lora=LoraConfig(r=4, alpha=8), margin=0.5, progress=False))
    assert [e["epoch"] for e in card["epochs"]] == [1, 2]
    assert 0.0 <= card["epochs"][-1]["eval_accuracy"] <= 1.0
    saved = json.loads((tmp_path / "out" / "rlvr_metrics.json").read_text())
    assert saved["config"]["lora"]["r"] == 4 and saved["train_rows"] + saved["eval_rows"] == 200
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")  # plain model: LoRA merged
    assert not any("lora" in name for name, _ in model.named_parameters())
    trained = dict(model.named_parameters())
    fresh = dict(AutoModelForSequenceClassification.from_pretrained(base).named_parameters())
    assert not torch.equal(trained["score.weight"], fresh["score.weight"])


async def test_causal_prm_trains_and_serves(tmp_path, monkeypatch):
    monkeypatch.setenv("RLVR_TORCH_THREADS", "1")  # for the private model server the grader starts
    base = save_tiny_head(tmp_path / "base", "causal", chat_template=False, hidden=32, layers=1)
    data = write_steps(tmp_path / "steps.jsonl", 300, 4)
    card = train_prm(PRMConfig(model=str(base), output_dir=str(tmp_path / "out"), data=str(data), epochs=1,
                               batch_size=16, lr=3e-3, layout="causal", tag=STEP_TAG, progress=False))
    assert 0.0 <= card["epochs"][0]["eval_step_accuracy"] <= 1.0
    spec = parse_spec({"type": "process", "scorer": "model", "model": str(tmp_path / "out"), "layout": "causal",
                       "tag": STEP_TAG, "aggregate": "product", "split": "\n"})
    context = GraderContext(pool=None)  # type: ignore[arg-type]
    grader = ProcessGrader(spec, context)
    import random

    rng = random.Random(0)
    samples = [Sample(prompt="Add:", completion="\n".join(step(rng, g) for g in goods))
               for goods in ([True], [True, False], [False, True, True])]
    scores = await grader.grade(samples)
    for sample, result in zip(samples, scores, strict=True):
        probs = [s["score"] for s in result.details["steps"]]
        assert len(probs) == sample.completion.count("\n") + 1
        assert all(0.0 < p < 1.0 for p in probs)
        assert result.reward == pytest.approx(float(torch.tensor(probs).prod()), rel=1e-5)
    truncated = ProcessGrader(spec.model_copy(update={"max_length": 12}), context)
    (cut,) = await truncated.grade([samples[2]])
    assert cut.details["truncated"] is True and cut.details["steps"][-1]["score"] is None
    assert [s["score"] for s in cut.details["steps"][:1]] == pytest.approx(
        [s["score"] for s in scores[2].details["steps"][:1]], abs=1e-5)  # the first step is kept, and read alike
    await context.resources.aclose()
