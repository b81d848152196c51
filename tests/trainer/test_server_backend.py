"""Rollouts from `rlvr serve-model` over HTTP, weight sync after each update (LoRA adapters, full reloads from
disk) and the truncated importance sampling of the server/trainer mismatch, end to end on CPU: real servers on
loopback, a real GRPO loop; through vLLM's API and SGLang's (`rollout.server_api`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.procs import free_port, launch
from trainer.config import SampleConfig, TrainConfig
from trainer.metrics import read_metrics
from trainer.models import load_tokenizer
from trainer.rollout_server import ServerBackend
from trainer.sample import rejection_sample
from trainer.tasks import arithmetic
from trainer.train import train

pytestmark = pytest.mark.timeout(600)
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RLVR_TORCH_THREADS": "1"}
TOLERANCE = 1e-3  # |server log p - trainer log p| for the same weights: CPU kernels and batch padding only


def serve(model: Path, *flags: str) -> Any:
    args = ["serve-model", str(model), "--name", "policy", "--threads", "1", "--batch-size", "64",
            "--max-new-tokens", "16", *flags]
    return launch(args, free_port(), env=OFFLINE)


@pytest.fixture(scope="module")
def lora_server(warm_model: Path) -> Iterator[str]:
    with serve(warm_model, "--weight-updates") as url:
        yield url


def config(policy: Path, server: str, reward: str, out: Path, **overrides: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "model": {"path": str(policy), "lora": {"r": 8, "alpha": 16}},
        "data": {"task": "arithmetic", "task_args": {"digits": 1}, "size": 200},
        "rollout": {"prompts_per_step": 8, "group_size": 4, "max_new_tokens": 3, "backend": "server",
                    "server_urls": [server], "server_model": "policy"},
        "reward": {"urls": [reward], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "optim": {"lr": 2e-2}, "max_off_policy_steps": 0, "steps": 3, "output_dir": str(out),
        "log_samples_every": 0, "plots": False, "torch_threads": 2, "monitors": {"enabled": False},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return TrainConfig.model_validate(base)


def completion(url: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/completions", json={"model": "policy", "max_tokens": 4, **body}, timeout=60)


def generate(url: str, **body: Any) -> httpx.Response:
    """SGLang's /generate."""
    return httpx.post(f"{url}/generate", json=body, timeout=60)


def first_token(url: str, api: str, prompt: list[int], name: str) -> tuple[int, float]:
    """One sampled token after `prompt` and its log-prob (T = 1), from the base (`policy`) or an adapter."""
    if api == "vllm":
        choice = completion(url, prompt=prompt, model=name, temperature=1.0, logprobs=0, return_token_ids=True,
                            max_tokens=1).json()["choices"][0]
        return choice["token_ids"][0], choice["logprobs"]["token_logprobs"][0]
    lora = {} if name == "policy" else {"lora_path": name}
    output = generate(url, input_ids=prompt, sampling_params={"max_new_tokens": 1}, return_logprob=True,
                      **lora).json()
    logprob, token, _ = output["meta_info"]["output_token_logprobs"][0]
    return token, logprob


def local_logprobs(model: Any, prompt: list[int], tokens: list[int], temperature: float = 1.0) -> torch.Tensor:
    """The trainer's computation: log_softmax(logits / T) of each completion token, from one forward pass."""
    with torch.no_grad():
        logits = model(torch.tensor([prompt + tokens])).logits[0, len(prompt) - 1:-1].float()
    return torch.log_softmax(logits / temperature, -1).gather(-1, torch.tensor(tokens)[:, None])[:, 0]


def test_token_prompts_get_ids_and_logprobs_of_the_sampled_tokens(lora_server: str, warm_model: Path) -> None:
    tokenizer = load_tokenizer(str(warm_model))
    prompt = tokenizer.encode("3+4=", add_special_tokens=False)
    answer = completion(lora_server, prompt=prompt, n=3, temperature=0.7, logprobs=2, return_token_ids=True,
                        return_tokens_as_token_ids=True)
    assert answer.status_code == 200, answer.text
    choices = answer.json()["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    model = AutoModelForCausalLM.from_pretrained(warm_model).eval()
    for c in choices:
        ids, logprobs = c["token_ids"], c["logprobs"]
        assert 1 <= len(ids) <= 4 and len(logprobs["token_logprobs"]) == len(ids) == len(logprobs["top_logprobs"])
        assert logprobs["tokens"] == [f"token_id:{t}" for t in ids]
        assert all(len(top) == 2 for top in logprobs["top_logprobs"])
        mine = local_logprobs(model, prompt, ids, temperature=0.7)
        assert torch.allclose(torch.tensor(logprobs["token_logprobs"]), mine, atol=TOLERANCE)
        assert c["finish_reason"] == ("stop" if ids[-1] == tokenizer.eos_token_id or len(ids) < 4 else "length")


def test_sglang_generate_answers_with_ids_and_logprobs(lora_server: str, warm_model: Path) -> None:
    tokenizer = load_tokenizer(str(warm_model))
    prompt, other = (tokenizer.encode(p, add_special_tokens=False) for p in ("3+4=", "12+1="))
    model = AutoModelForCausalLM.from_pretrained(warm_model).eval()

    one = generate(lora_server, input_ids=prompt, sampling_params={"max_new_tokens": 4, "temperature": 0.7},
                   return_logprob=True)
    assert one.status_code == 200, one.text
    assert isinstance(one.json(), dict)  # one prompt, n = 1: one output, as SGLang answers
    many = generate(lora_server, input_ids=prompt, sampling_params={"max_new_tokens": 4, "temperature": 0.7, "n": 3},
                    return_logprob=True, top_logprobs_num=2)
    assert many.status_code == 200, many.text
    outputs = [one.json(), *many.json()]
    assert len(outputs) == 4
    for out in outputs:
        ids, meta = out["output_ids"], out["meta_info"]
        assert 1 <= len(ids) <= 4 and meta["completion_tokens"] == len(ids) and meta["prompt_tokens"] == len(prompt)
        assert [t for _, t, _ in meta["output_token_logprobs"]] == ids
        mine = local_logprobs(model, prompt, ids, temperature=0.7)
        assert torch.allclose(torch.tensor([lp for lp, _, _ in meta["output_token_logprobs"]]), mine, atol=TOLERANCE)
        finish = meta["finish_reason"]
        assert finish["type"] == ("length" if len(ids) == 4 and ids[-1] != tokenizer.eos_token_id else "stop")
        assert finish.get("length", len(ids)) == len(ids)
    assert all(len(top) == 2 for out in many.json() for top in out["meta_info"]["output_top_logprobs"])

    # a batch: prompt by prompt, each prompt's n outputs together; greedy, so a prompt's copies agree
    batch = generate(lora_server, input_ids=[prompt, other], sampling_params={"max_new_tokens": 3, "n": 2,
                                                                              "temperature": 0})
    assert batch.status_code == 200, batch.text
    rows = batch.json()
    assert [r["meta_info"]["prompt_tokens"] for r in rows] == [len(prompt)] * 2 + [len(other)] * 2
    assert rows[0]["output_ids"] == rows[1]["output_ids"] and rows[2]["output_ids"] == rows[3]["output_ids"]
    assert "output_token_logprobs" not in rows[0]["meta_info"]  # not asked for


def test_bad_requests_get_4xx_with_the_reason(lora_server: str, tmp_path: Path) -> None:
    cases = [
        (completion(lora_server, prompt=[10**6]), 400, "outside the vocabulary"),
        (completion(lora_server, prompt=[]), 400, "no token ids"),
        (completion(lora_server, prompt=[5] * 200, max_tokens=16), 400, "context"),
        (completion(lora_server, prompt=[5], model="nope"), 404, "not served here"),
        (httpx.post(f"{lora_server}/v1/load_lora_adapter", json={"lora_name": "a", "lora_path": str(tmp_path)}),
         400, "adapter_config.json"),
        (httpx.post(f"{lora_server}/v1/load_lora_adapter", json={"lora_name": "policy", "lora_path": "/x"}),
         409, "already served"),
        (httpx.post(f"{lora_server}/v1/load_lora_adapter", json={"lora_name": "a"}), 422, "lora_path"),
        (httpx.post(f"{lora_server}/v1/unload_lora_adapter", json={"lora_name": "never-loaded"}), 404, "no adapter"),
        (httpx.post(f"{lora_server}/update_weights_from_disk", json={"model_path": str(tmp_path)}), 400,
         "cannot load weights"),
        # SGLang's shapes
        (generate(lora_server, input_ids=[10**6]), 400, "outside the vocabulary"),
        (generate(lora_server, input_ids=[]), 400, "input_ids"),
        (generate(lora_server, text="3+4="), 400, "send the prompt as `input_ids`"),
        (generate(lora_server, input_ids=[[5], []]), 400, "no token ids"),
        (generate(lora_server, input_ids=[5] * 200, sampling_params={"max_new_tokens": 16}), 400, "context"),
        (generate(lora_server, input_ids=[5], lora_path="nope"), 404, "not served here"),
        (generate(lora_server, input_ids=[5], sampling_params={"top_k": 5}), 422, "top_k"),
        (generate(lora_server, input_ids=[5], stream=True), 422, "stream"),
        (httpx.post(f"{lora_server}/load_lora_adapter", json={"lora_name": "a", "lora_path": str(tmp_path)}),
         400, "adapter_config.json"),
        (httpx.post(f"{lora_server}/unload_lora_adapter", json={"lora_name": "never-loaded"}), 404, "no adapter"),
    ]
    for response, status, reason in cases:
        assert response.status_code == status, response.text
        assert reason in response.text


def test_weight_updates_are_off_unless_asked_for(warm_model: Path) -> None:
    with serve(warm_model) as url:
        responses = [httpx.post(f"{url}{route}", json={"lora_name": "a", "lora_path": "/x"})
                     for route in ("/v1/load_lora_adapter", "/load_lora_adapter")]
    assert all(r.status_code == 403 and "--weight-updates" in r.text for r in responses)


@pytest.mark.parametrize("api", ["vllm", "sglang"])
def test_grpo_through_the_server_syncs_a_new_adapter_each_step(
        api: str, lora_server: str, reward_url: str, warm_model: Path, tmp_path: Path) -> None:
    before = httpx.get(f"{lora_server}/healthz").json()
    out = train(config(warm_model, lora_server, reward_url, tmp_path / "run", rollout={"server_api": api}))
    records = read_metrics(out / "metrics.jsonl")
    assert len(records) == 3
    health = httpx.get(f"{lora_server}/healthz").json()
    assert health["adapters_loaded_total"] - before["adapters_loaded_total"] == 3  # one adapter per update
    [adapter] = set(health["adapters"]) - set(before["adapters"])  # this run's old ones were unloaded
    assert adapter.endswith("-step3")
    assert [p.name for p in (out / "sync").iterdir()] == ["step3"]  # and their files removed
    for record in records:
        # on-policy: each batch was sampled by the adapter synced after the previous update, so the server's
        # log-probs are the trainer's own up to kernel noise, and TIS leaves the loss as it is
        assert record["mismatch/abs_logp_diff"] < TOLERANCE, record
        assert record["mismatch/tis_clipped"] == 0 and record["mismatch/ratio_max"] < 1.01
        assert record["policy_lag"] == 0 and record["sync_seconds"] > 0

    # the adapter on the server is the trained one: its log-probs match the final policy's, the base's do not
    from peft import PeftModel

    policy = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(warm_model), out / "final").eval()
    tokenizer = load_tokenizer(str(warm_model))
    gaps: dict[str, float] = {adapter: 0.0, "policy": 0.0}
    for text in ("2+5=", "7+1=", "9+9=", "4+0="):  # several: one sampled token may be one training hardly moved
        prompt = tokenizer.encode(text, add_special_tokens=False)
        for name in gaps:
            token, logprob = first_token(lora_server, api, prompt, name)
            gaps[name] = max(gaps[name], abs(logprob - local_logprobs(policy, prompt, [token])[0].item()))
    assert gaps[adapter] < TOLERANCE < 10 * TOLERANCE < gaps["policy"], gaps


@pytest.mark.parametrize("api", ["vllm", "sglang"])
def test_full_fine_tuning_reloads_the_weights_from_disk(api: str, reward_url: str, warm_model: Path,
                                                        tmp_path: Path) -> None:
    with serve(warm_model, "--weight-updates") as url:
        cfg = config(warm_model, url, reward_url, tmp_path / "full", steps=2, optim={"lr": 1e-3},
                     model={"path": str(warm_model), "lora": None}, max_off_policy_steps=1,
                     rollout={"server_api": api})
        records = read_metrics(train(cfg) / "metrics.jsonl")
        health = httpx.get(f"{url}/healthz").json()
    assert health["weight_reloads"] == 2 and health["adapters"] == []
    assert [r["policy_lag"] for r in records] == [0, 1]
    # step 1 was sampled by the initial weights the server started with: no mismatch beyond kernel noise;
    # step 2's batch is one update old, which TIS corrects
    assert records[0]["mismatch/abs_logp_diff"] < TOLERANCE
    assert records[1]["mismatch/abs_logp_diff"] > records[0]["mismatch/abs_logp_diff"]


@pytest.mark.parametrize("api", ["vllm", "sglang"])
def test_requests_spread_over_servers_and_fail_over(api: str, lora_server: str, warm_model: Path,
                                                    tmp_path: Path) -> None:
    cfg = config(warm_model, lora_server, lora_server, tmp_path).rollout.model_copy(
        update={"server_urls": ["http://127.0.0.1:9", lora_server], "server_retry_budget_s": 10, "server_api": api})
    backend = ServerBackend(load_tokenizer(str(warm_model)), cfg, "policy", tmp_path / "sync")
    try:
        rollouts = backend.generate(["1+1=", "2+2=", "3+3="], group_size=4)
    finally:
        backend.close()
    assert rollouts.completion_ids.shape[0] == 12 and rollouts.behaviour_logprobs.shape == rollouts.completion_ids.shape
    assert bool((rollouts.behaviour_logprobs * rollouts.completion_mask <= 0).all())
    assert len(rollouts.texts) == 12


def test_rejection_sampling_through_the_server(lora_server: str, reward_url: str, warm_model: Path,
                                               tmp_path: Path) -> None:
    cfg = SampleConfig.model_validate({
        "model": {"path": str(warm_model)}, "data": {"task": "arithmetic", "task_args": {"digits": 1}, "size": 20},
        "rollout": {"group_size": 4, "max_new_tokens": 3, "backend": "server", "server_urls": [lora_server],
                    "server_model": "policy"},
        "reward": {"urls": [reward_url], "graders": [{"grader": {"type": "math", "timeout_s": 30}}]},
        "output": str(tmp_path / "kept.jsonl"),
    })
    counts = rejection_sample(cfg)
    rows = [json.loads(line) for line in (tmp_path / "kept.jsonl").read_text().splitlines()]
    answers = {p.prompt: p.reference for p in arithmetic(20, seed=0, digits=1)}
    assert counts["generated"] == 80 and counts["kept"] == len(rows) > 0
    assert all(int(row["response"]) == int(answers[row["prompt"]]) for row in rows)  # checked independently
