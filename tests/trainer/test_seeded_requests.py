"""vLLM's per-request `seed` on serve-model's token completions: a seeded request's samples depend on its seed,
prompt and settings only, not on the requests the dynamic batcher serves beside it; the trainer's server backend
seeds its requests from the run's seed, so a run samples the same completions twice."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.procs import free_port, launch
from trainer.config import RolloutConfig
from trainer.models import load_tokenizer
from trainer.rollout_server import ServerBackend
from trainer.tiny import save_tiny

pytestmark = pytest.mark.timeout(300)
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RLVR_TORCH_THREADS": "1"}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny model: its samples at T=2 vary, which is all these tests need."""
    return save_tiny(tmp_path_factory.mktemp("seeded") / "tiny", hidden=64, layers=2, heads=2)


@pytest.fixture(scope="module")
def server(model: Path) -> Iterator[str]:
    # a long batching window, so that concurrent requests do share forward passes
    args = ["serve-model", str(model), "--name", "policy", "--threads", "1", "--batch-size", "64",
            "--batch-wait-ms", "200", "--max-new-tokens", "8"]
    with launch(args, free_port(), env=OFFLINE) as url:
        yield url


def complete(url: str, prompt: list[int], **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/completions", json={"model": "policy", "prompt": prompt, "max_tokens": 4,
                                                     "temperature": 2.0, "logprobs": 0, "return_token_ids": True,
                                                     **body}, timeout=60)


def samples(response: httpx.Response) -> list[tuple[list[int], list[float]]]:
    assert response.status_code == 200, response.text
    return [(c["token_ids"], c["logprobs"]["token_logprobs"]) for c in response.json()["choices"]]


def test_a_seeded_request_samples_the_same_alone_and_batched(server: str, model: Path) -> None:
    tokenizer = load_tokenizer(str(model))
    prompt, others = (tokenizer.encode(f"{a}+{b}=", add_special_tokens=False) for a, b in [(3, 4), (7, 8)])
    alone = samples(complete(server, prompt, n=8, seed=1234))
    assert len({tuple(ids) for ids, _ in alone}) > 1  # its n samples differ: one RNG stream for all n

    passes = httpx.get(f"{server}/healthz").json()["forward_passes"]
    with ThreadPoolExecutor(8) as pool:  # beside unseeded requests and other seeded ones, all in flight at once
        crowd = [pool.submit(complete, server, others, n=4), pool.submit(complete, server, prompt, n=3),
                 pool.submit(complete, server, others, n=8, seed=1234),
                 pool.submit(complete, server, prompt, n=8, seed=99),
                 pool.submit(complete, server, prompt, n=8, seed=1234), pool.submit(complete, server, others, n=2)]
        answers = [samples(f.result()) for f in crowd]
    assert httpx.get(f"{server}/healthz").json()["forward_passes"] - passes < len(crowd)  # they were batched
    assert answers[4] == alone  # the same tokens and the same log-probs
    assert answers[3] != alone  # another seed, other samples
    assert samples(complete(server, prompt, n=8, seed=1234)) == alone  # and after the RNG served others


def test_a_seeded_request_keeps_to_top_p(server: str) -> None:
    greedy = [ids for ids, _ in samples(complete(server, [40, 41, 42], temperature=0.0))]
    nucleus = [ids for ids, _ in samples(complete(server, [40, 41, 42], n=4, seed=3, top_p=1e-6))]
    assert nucleus == greedy * 4  # a nucleus of one token: the most likely one, each time


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True, 2**63])
def test_a_bad_seed_gets_a_4xx(server: str, seed: Any) -> None:
    response = complete(server, [5, 6], seed=seed)
    assert response.status_code == 422, response.text
    assert "seed" in response.text


def test_a_seed_on_a_text_prompt_is_refused(server: str) -> None:
    response = httpx.post(f"{server}/v1/completions", json={"model": "policy", "prompt": "3+4=", "seed": 1})
    assert response.status_code == 400 and "token ids" in response.text


def test_sglang_sampling_seed_is_the_same_seed(server: str, model: Path) -> None:
    """`/generate`'s `sampling_params.sampling_seed` samples what `/v1/completions`' `seed` does."""
    prompt = load_tokenizer(str(model)).encode("6+1=", add_special_tokens=False)
    body = {"input_ids": prompt, "return_logprob": True,
            "sampling_params": {"n": 5, "max_new_tokens": 4, "temperature": 2.0, "sampling_seed": 99}}
    outputs = [httpx.post(f"{server}/generate", json=body, timeout=60) for _ in range(2)]
    assert all(r.status_code == 200 for r in outputs), outputs[0].text
    ids = [[o["output_ids"] for o in r.json()] for r in outputs]
    assert ids[0] == ids[1] and len({tuple(i) for i in ids[0]}) > 1
    assert ids[0] == [t for t, _ in samples(complete(server, prompt, n=5, seed=99))]
    bad = httpx.post(f"{server}/generate", json={**body, "sampling_params": {"sampling_seed": -1}}, timeout=60)
    assert bad.status_code == 422


@pytest.mark.parametrize("api", ["vllm", "sglang"])
def test_the_server_backend_seeds_its_requests_from_the_run_seed(server: str, model: Path, tmp_path: Path,
                                                                 api: str) -> None:
    cfg = RolloutConfig(max_new_tokens=4, temperature=2.0, backend="server", server_urls=[server], server_api=api)
    tokenizer = load_tokenizer(str(model))

    def run(seeds: tuple[int, ...] | None) -> list[list[str]]:
        """The texts of two generate calls by a fresh backend."""
        backend = ServerBackend(tokenizer, cfg, "policy", tmp_path / "sync", seeds=seeds)
        try:
            return [backend.generate(["1+2=", "5+3=", "9+9="], group_size=6).texts for _ in range(2)]
        finally:
            backend.close()

    first = run((7, 0))
    assert run((7, 0)) == first  # the same run samples the same completions
    assert first[0] != first[1]  # each call has seeds of its own
    assert run((8, 0)) != first
