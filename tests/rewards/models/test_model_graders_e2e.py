"""Train a tiny reward model and a tiny PRM with the real CLI, serve both with `rlvr serve` (the reward model on a
configured model server, the PRM on a private one), query over HTTP, stall and kill the model servers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
import yaml

from tests.procs import REPO, free_port, launch
from tests.rewards.models.toy import step, sum_pair, write_pairs, write_steps
from trainer.tiny_heads import STEP_TAG, save_tiny_head

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RLVR_TORCH_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def rlvr(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "rlvr", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **OFFLINE}, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("rm")
    base = save_tiny_head(root / "base", "reward", chat_template=False, hidden=64, layers=2)
    config = {"model": str(base), "output_dir": str(root / "out"), "data": str(write_pairs(root / "pairs.jsonl", 2000, 0)),
              "eval_fraction": 0.2, "epochs": 4, "batch_size": 32, "lr": 3e-3, "threads": 1, "progress": False,
              "center_coef": 0.001}
    (root / "rm.yaml").write_text(yaml.safe_dump(config))
    rlvr("train-rm", str(root / "rm.yaml"))
    return root / "out"


@pytest.fixture(scope="module")
def prm(tmp_path_factory):
    root = tmp_path_factory.mktemp("prm")
    base = save_tiny_head(root / "base", "token", chat_template=False, hidden=64, layers=2)
    config = {"model": str(base), "output_dir": str(root / "out"), "data": str(write_steps(root / "steps.jsonl", 2000, 1)),
              "eval_fraction": 0.2, "epochs": 6, "batch_size": 32, "lr": 3e-3, "threads": 1, "progress": False,
              "layout": "token", "tag": STEP_TAG}
    (root / "prm.yaml").write_text(yaml.safe_dump(config))
    rlvr("train-prm", str(root / "prm.yaml"))
    return root / "out"


@pytest.fixture(scope="module")
def rm_server(reward_model):
    """The reward model on a model server the operator runs (the PRM gets a private one)."""
    with launch(["serve-model", str(reward_model), "--head", "reward"], free_port(), env=OFFLINE) as url:
        yield url


@pytest.fixture(scope="module")
def server(reward_model, prm, rm_server, tmp_path_factory):
    config = {
        "server": {"workers": 1, "inline_allow": [str(prm), "/nonexistent/*"],
                   "model_servers": {str(reward_model): rm_server}},
        "graders": {
            "rm": {"type": "reward_model", "model": str(reward_model), "max_length": 64},
            "rm_fast": {"type": "reward_model", "model": str(reward_model), "request_timeout_s": 2},
            "rm_sigmoid": {"type": "reward_model", "model": str(reward_model), "normalize": "sigmoid"},
            "prm": {"type": "process", "scorer": "model", "model": str(prm), "layout": "token", "tag": STEP_TAG},
        },
    }
    path = tmp_path_factory.mktemp("cfg") / "rlvr.yaml"
    path.write_text(yaml.safe_dump(config))
    with launch(["serve", "--config", str(path)], free_port(), env=OFFLINE) as url:
        yield url


def post(url: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=120)


def test_training_reached_held_out_accuracy(reward_model, prm):
    rm_card = json.loads((reward_model / "rlvr_metrics.json").read_text())
    assert rm_card["epochs"][-1]["eval_accuracy"] >= 0.9
    prm_card = json.loads((prm / "rlvr_metrics.json").read_text())
    assert prm_card["epochs"][-1]["eval_step_accuracy"] >= 0.75  # 60% of steps are good: chance is 0.6


def test_reward_model_ranks_fresh_pairs_over_http(server):
    rng = random.Random(99)
    pairs = [sum_pair(rng) for _ in range(40)]
    items = [{"prompt": p, "completion": c} for p, right, wrong in pairs for c in (right, wrong)]
    r = post(server, "/v1/score/batch", {"grader": "rm", "items": items})
    assert r.status_code == 200
    results = r.json()["results"]
    assert all(x["error"] is None and "raw" in x["details"] for x in results)
    rewards = [x["reward"] for x in results]
    wins = sum(rewards[i] > rewards[i + 1] for i in range(0, len(rewards), 2))
    assert wins / len(pairs) >= 0.85
    sig = post(server, "/v1/score/batch", {"grader": "rm_sigmoid", "items": items[:4]}).json()["results"]
    assert all(0 < x["reward"] < 1 for x in sig)


def test_compare(server):
    rng = random.Random(5)
    probabilities = []
    for _ in range(10):
        prompt, right, wrong = sum_pair(rng)
        r = post(server, "/v1/compare", {"grader": "rm", "prompt": prompt, "a": right, "b": wrong})
        assert r.status_code == 200
        body = r.json()
        back = post(server, "/v1/compare", {"grader": "rm", "prompt": prompt, "a": wrong, "b": right}).json()
        assert body["probability"] + back["probability"] == pytest.approx(1.0, abs=1e-4)
        assert (body["probability"] > 0.5) == (body["reward_a"] > body["reward_b"])
        probabilities.append(body["probability"])
    assert sum(p > 0.5 for p in probabilities) >= 8


@pytest.mark.parametrize(("body", "status"), [
    ({"grader": "math", "a": "1", "b": "2"}, 422),
    ({"grader": "nope", "a": "1", "b": "2"}, 422),
    ({"grader": {"type": "reward_model"}, "a": "1", "b": "2"}, 422),
    ({"grader": "rm", "a": "1"}, 422),
    ({"grader": {"type": "reward_model", "model": "/nonexistent/model"}, "a": "1", "b": "2"}, 503),
])
def test_compare_rejects_bad_requests(server, body, status):
    r = post(server, "/v1/compare", body)
    assert r.status_code == status, r.text


def test_unloadable_model_is_an_error_not_a_crash(server):
    r = post(server, "/v1/score", {"grader": {"type": "reward_model", "model": "/nonexistent/model"}, "completion": "x"})
    assert r.status_code == 200
    assert r.json()["error"] and r.json()["reward"] == 0.0
    assert post(server, "/v1/score", {"grader": "rm", "prompt": "1+1=", "completion": "2"}).json()["error"] is None


def test_long_and_hostile_inputs_are_truncated(server):
    items = [{"prompt": "1+1=", "completion": "9" * 20_000}, {"completion": ""}, {"completion": "\x00<pad>\ufffd"}]
    results = post(server, "/v1/score/batch", {"grader": "rm", "items": items}).json()["results"]
    assert all(x["error"] is None for x in results)


def test_prm_scores_each_step_over_http(server):
    rng = random.Random(7)
    solutions = []
    for _ in range(30):
        labels = [rng.random() < 0.5 for _ in range(3)]
        solutions.append((labels, [step(rng, good) for good in labels]))
    items = [{"prompt": "Add:", "completion": "\n\n".join(steps)} for _, steps in solutions]
    r = post(server, "/v1/score/batch", {"grader": "prm", "items": items})
    assert r.status_code == 200
    right = total = 0
    for (labels, steps), result in zip(solutions, r.json()["results"], strict=True):
        listed = result["details"]["steps"]
        assert [s["text"] for s in listed] == steps
        assert result["reward"] == pytest.approx(min(s["score"] for s in listed))
        right += sum((s["score"] > 0.5) == good for s, good in zip(listed, labels, strict=True))
        total += len(labels)
    assert right / total >= 0.75  # half the steps are good: chance is 0.5


def test_prm_tags_written_by_the_completion_are_ignored(server):
    honest = post(server, "/v1/score", {"grader": "prm", "prompt": "Add:", "completion": "1+2=3\n\n2+2=4"}).json()
    sneaky = post(server, "/v1/score", {"grader": "prm", "prompt": "Add:",
                                        "completion": f"1+2=3{STEP_TAG}{STEP_TAG}\n\n2+2=4{STEP_TAG}"}).json()
    assert len(sneaky["details"]["steps"]) == 2
    assert [s["score"] for s in sneaky["details"]["steps"]] == pytest.approx(
        [s["score"] for s in honest["details"]["steps"]], abs=1e-5)


def test_remote_code_needs_the_server_to_allow_it(server, prm):
    spec = {"type": "process", "scorer": "model", "model": str(prm), "tag": STEP_TAG, "remote_code": True}
    result = post(server, "/v1/score", {"grader": spec, "completion": "1+1=2"}).json()
    assert result["reward"] == 0.0 and "RLVR_ALLOW_REMOTE_CODE" in result["error"]


def serve_model_pid(model: str) -> int:
    """The pid of the (one) `serve-model` process serving `model`."""
    return next(p.pid for p in psutil.process_iter(["cmdline"])
                if "serve-model" in (p.info["cmdline"] or []) and model in (p.info["cmdline"] or []))


def test_configured_model_server_answers_and_no_private_one_starts(server, reward_model, rm_server):
    before = httpx.get(rm_server + "/healthz").json()["forward_passes"]  # a sample no test sent (the cache)
    assert post(server, "/v1/score", {"grader": "rm", "prompt": "1+1=", "completion": "2 (configured)"}).json()["error"] is None
    assert httpx.get(rm_server + "/healthz").json()["forward_passes"] > before
    serving = [p for p in psutil.process_iter(["cmdline"]) if str(reward_model) in (p.info["cmdline"] or [])]
    assert len(serving) == 1


def test_a_stalled_model_server_is_an_error_within_the_budget(server, reward_model):
    pid = serve_model_pid(str(reward_model))
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        stalled = post(server, "/v1/score", {"grader": "rm_fast", "prompt": "1+1=", "completion": "2"}).json()
        assert stalled["reward"] == 0.0 and "within 2s" in stalled["error"]
        assert time.monotonic() - start < 10
    finally:
        os.kill(pid, signal.SIGCONT)
    assert post(server, "/v1/score", {"grader": "rm_fast", "prompt": "1+1=", "completion": "2"}).json()["error"] is None


def test_a_killed_private_model_server_is_an_error_then_replaced(server, prm):
    def body(completion: str) -> dict:  # each call a new sample, so the reward cache cannot answer it
        return {"grader": "prm", "prompt": "Add:", "completion": completion}

    assert post(server, "/v1/score", body("1+2=3\n\n2+3=5")).json()["error"] is None
    os.kill(serve_model_pid(str(prm)), signal.SIGKILL)
    down = post(server, "/v1/score", body("1+2=3\n\n2+4=6")).json()
    assert down["reward"] == 0.0 and "unreachable" in down["error"]
    assert post(server, "/v1/score", body("1+2=3\n\n2+5=7")).json()["error"] is None  # a fresh private server
