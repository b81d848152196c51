"""`rlvr serve-model`'s scoring routes, run as real servers: TEI's /predict for reward models, vLLM's /pooling
(STEP pooling) for PRMs, in the shapes those servers use, so that either can stand in for it."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys

import httpx
import pytest

from tests.procs import REPO, free_port, launch
from trainer.tiny_heads import STEP_TAG, save_tiny_head

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RLVR_TORCH_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    return {head: save_tiny_head(root / head, head, chat_template=False, hidden=32, layers=1)
            for head in ("reward", "token", "causal")}


@pytest.fixture(scope="module")
def rm_server(models):
    args = ["serve-model", str(models["reward"]), "--head", "reward", "--batch-size", "32", "--batch-wait-ms", "50",
            "--max-length", "64"]
    with launch(args, free_port(), env=OFFLINE) as url:
        yield url


@pytest.fixture(scope="module")
def prm_server(models):
    args = ["serve-model", str(models["token"]), "--head", "token", "--step-tag", STEP_TAG, "--name", "prm"]
    with launch(args, free_port(), env=OFFLINE) as url:
        yield url


def post(url: str, path: str, body: object) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=60)


def test_predict_speaks_tei(rm_server):
    single = post(rm_server, "/predict", {"inputs": "1+1=2"})
    assert single.status_code == 200
    (prediction,) = single.json()
    assert prediction["label"] == "LABEL_0" and 0 < prediction["score"] < 1  # one label: a sigmoid
    (raw,) = post(rm_server, "/predict", {"inputs": "1+1=2", "raw_scores": True}).json()
    assert 1 / (1 + math.exp(-raw["score"])) == pytest.approx(prediction["score"], abs=1e-6)
    batch = post(rm_server, "/predict", {"inputs": [["1+1=2"], ["1+1=3"]], "raw_scores": True}).json()
    assert [len(row) for row in batch] == [1, 1]
    assert batch[0][0]["score"] == pytest.approx(raw["score"], abs=1e-5)  # padding in a batch changes nothing
    assert batch[1][0]["score"] != pytest.approx(raw["score"], abs=1e-6)


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/predict", {"inputs": ["a text", "its pair"]}, 422),  # a TEI pair: a reward model has no use for one
    ("/predict", {"inputs": [["a", "b"], ["c"]]}, 422),
    ("/predict", {"inputs": "x" * 500}, 413),  # over --max-length 64 without truncate
    ("/predict", {"inputs": [["x"]] * 5000, "truncate": True}, 413),
    ("/pooling", {"input": "a"}, 400),  # a reward model has no step tag
    ("/v1/embeddings", {"input": "a"}, 400),  # nor is it a sentence encoder
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, 400),
])
def test_predict_refusals(rm_server, path, body, status):
    assert post(rm_server, path, body).status_code == status


def test_truncation_keeps_the_end(rm_server):
    tail = "so the answer is 42."
    body = {"inputs": [["a" * 300 + tail], ["b" * 300 + tail], ["is 42."]], "truncate": True,
            "raw_scores": True, "truncate_prompt_tokens": 16}
    first, second, short = [row[0]["score"] for row in post(rm_server, "/predict", body).json()]
    assert first == pytest.approx(second, abs=1e-5)  # only the last 16 tokens were read
    assert first != pytest.approx(short, abs=1e-6)


async def test_concurrent_requests_share_forward_passes(rm_server):
    async with httpx.AsyncClient(base_url=rm_server, timeout=60) as http:
        before = (await http.get("/healthz")).json()["forward_passes"]
        answers = await asyncio.gather(*(http.post("/predict", json={"inputs": [[f"{i}+{i}={2 * i}"]],
                                                                     "raw_scores": True}) for i in range(32)))
        after = (await http.get("/healthz")).json()["forward_passes"]
    assert all(r.status_code == 200 for r in answers)
    assert after - before <= 16  # 32 requests, batched into a few passes


def test_pooling_speaks_vllm(prm_server):
    r = post(prm_server, "/pooling", {"model": "prm", "input": [f"1+1=2{STEP_TAG}2+2=5{STEP_TAG}", "no tags"]})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list" and body["model"] == "prm"
    assert [(d["index"], d["object"]) for d in body["data"]] == [(0, "pooling"), (1, "pooling")]
    rows = body["data"][0]["data"]
    assert len(rows) == 2 and all(len(row) == 2 and sum(row) == pytest.approx(1.0) for row in rows)
    assert body["data"][1]["data"] == []
    (one,) = post(prm_server, "/pooling", {"input": f"1+1=2{STEP_TAG}"}).json()["data"]
    assert one["data"][0] == pytest.approx(rows[0], abs=1e-5)  # a step's score does not see later steps


def test_pooling_truncation_drops_late_tags_and_refusals(prm_server):
    text = f"1+1=2{STEP_TAG}" + "x" * 100 + STEP_TAG
    (cut,) = post(prm_server, "/pooling", {"input": text, "truncate_prompt_tokens": 20}).json()["data"]
    assert len(cut["data"]) == 1  # the first steps are kept, the late tag is cut
    assert post(prm_server, "/pooling", {"model": "other", "input": "x"}).status_code == 404
    assert post(prm_server, "/predict", {"inputs": "x"}).status_code == 400


def test_causal_prm_reads_plus_against_minus(models):
    args = ["serve-model", str(models["causal"]), "--step-tag", STEP_TAG, "--positive-token", "+",
            "--negative-token", "-", "--max-new-tokens", "4"]
    with launch(args, free_port(), env=OFFLINE) as url:
        (result,) = post(url, "/pooling", {"input": f"1+1=2{STEP_TAG}"}).json()["data"]
        (row,) = result["data"]
        assert len(row) == 2 and sum(row) == pytest.approx(1.0)  # p(+), p(-) renormalized
        chat = post(url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
        assert chat.status_code == 200  # the same causal LM also generates


@pytest.mark.parametrize(("args", "env", "reason"), [
    (["/nonexistent/model", "--head", "reward"], {}, "cannot serve /nonexistent/model"),
    (["MODEL", "--head", "remote"], {"RLVR_ALLOW_REMOTE_CODE": "0"}, "RLVR_ALLOW_REMOTE_CODE=1"),
])
def test_a_model_that_cannot_load_stops_the_command_with_its_reason(models, args, env, reason):
    args = [str(models["token"]) if a == "MODEL" else a for a in args]
    done = subprocess.run([sys.executable, "-m", "rlvr", "serve-model", *args, "--port", str(free_port())], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **OFFLINE, **env})
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and reason in last


def test_serve_refuses_a_model_server_flag_without_a_url():
    done = subprocess.run([sys.executable, "-m", "rlvr", "serve", "--model-server", "just-a-name", "--port",
                           str(free_port())], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "MODEL=URL" in done.stderr
