"""The reward service under faults and bad input, through real servers: nothing made up reaches a client.

Large samples, a grading worker killed mid-batch or while idle, a judge that stalls, SIGTERM with a long
batch in flight, and requests that used to be 500s.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest

from rewards.service import RewardService
from rewards.settings import Settings
from rewards.types import Sample
from tests.http_asserts import assert_schema_error
from tests.procs import REPO, free_port, launch

# about a second of CPU each: the format grader's regex check gives up on catastrophic backtracking at 0.5 s
SLOW_GRADER = {"type": "math", "timeout_s": 30}  # seconds of exact binomials: slow for as long as the test needs
SLOW_ITEM = {"completion": r"\boxed{" + "+".join(rf"\binom{{{40_000 + k}}}{{{20_000 + k}}}" for k in range(24)) + "}",
             "reference": "1"}


@pytest.fixture(scope="module")
def service():
    """A reward service with two grading workers and its port, to find its processes by."""
    port = free_port()
    with launch(["serve", "--workers", "2", "--sandbox-url", "http://127.0.0.1:9"], port) as url:
        yield url, port


def server_process(port: int) -> psutil.Process:
    return next(p for p in psutil.process_iter(["cmdline"])
                if "serve" in (p.info["cmdline"] or []) and f"{port}" in (p.info["cmdline"] or []))


def grading_workers(port: int) -> list[psutil.Process]:
    """The forkserver's children: the pool's workers."""
    forkserver = next(c for c in server_process(port).children() if "forkserver" in " ".join(c.cmdline()))
    return forkserver.children()


@pytest.mark.parametrize("kib", [256, 1024, 2048])
def test_large_samples_get_their_real_reward(service, kib):
    url, _ = service
    filler = "so on. " * (kib * 1024 // 7)
    items = [{"prompt": filler, "completion": filler + r" The answer is \boxed{42}.", "reference": "42",
              "metadata": {"notes": filler}} for _ in range(4)]
    with httpx.Client(timeout=120) as client:
        for _ in range(3):  # the old failure struck about every other time
            body = {"grader": "math", "items": items[: max(1, 4096 // kib // 2)]}
            results = client.post(url + "/v1/score/batch", json=body).json()["results"]
            assert [(r["reward"], r["error"]) for r in results] == [(1.0, None)] * len(body["items"]), results
            one = client.post(url + "/v1/score", json={"grader": "math", **items[0]}).json()
            assert (one["reward"], one["error"]) == (1.0, None), one


def test_a_worker_killed_mid_batch_costs_no_sample(service):
    url, port = service
    items = [{"completion": rf"\boxed{{\frac{{{i}}}{{7}}}}", "reference": f"{i}/7" if i % 3 else f"{i + 1}/7"}
             for i in range(1, 601)]
    expected = [1.0 if i % 3 else 0.0 for i in range(1, 601)]
    restarts = httpx.get(url + "/healthz").json()["restarts"]
    answer: dict = {}
    thread = threading.Thread(target=lambda: answer.update(httpx.post(
        url + "/v1/score/batch", json={"grader": "math", "items": items}, timeout=120).json()))
    thread.start()
    time.sleep(0.5)
    victims = grading_workers(port)
    for victim in victims:  # both, a moment apart: each dies under a call or between two
        victim.kill()
        time.sleep(0.2)
    thread.join()
    results = answer["results"]
    assert [r["error"] for r in results] == [None] * len(items)
    assert [r["reward"] for r in results] == expected
    time.sleep(0.5)
    health = httpx.get(url + "/healthz").json()
    assert health["restarts"] >= restarts + 2 and health["live"] == 2 and health["status"] == "ok", health
    assert not {v.pid for v in victims} & {w.pid for w in grading_workers(port)}


def test_an_idle_worker_killed_is_reported_and_never_handed_a_request(service):
    url, port = service
    before = httpx.get(url + "/healthz").json()["restarts"]
    grading_workers(port)[0].kill()
    time.sleep(0.5)
    health = httpx.get(url + "/healthz").json()
    assert health["restarts"] == before + 1 and health["live"] == 2
    with httpx.Client(timeout=30) as client:
        replies = [client.post(url + "/v1/score", json={"grader": "math", "completion": r"\boxed{3}",
                                                        "reference": "3"}).json() for _ in range(6)]
    assert all((r["reward"], r["error"]) == (1.0, None) for r in replies), replies


@pytest.mark.parametrize("raw,loc", [
    ('{"grader": {"type": "math", "rel_tol": NaN}, "completion": "1"}', ["body", "grader", "math", "rel_tol"]),
    ('{"grader": {"type": "math", "abs_tol": 1e400}, "completion": "1"}', ["body", "grader", "math", "abs_tol"]),
    ('{"grader": {"type": "math"}, "completion": "1", "reference": ' + "[" * 900 + "]" * 900 + "}",
     ["body", "reference"]),
    ('{"grader": "nope", "completion": "1"}', ["body", "grader"]),
    ('{"grader": {"type": "math", "bogus": 1}, "completion": "1"}', ["body", "grader"]),
])
def test_bad_requests_are_422_in_the_schema_shape(service, raw, loc):
    url, _ = service
    r = httpx.post(url + "/v1/score", content=raw, headers={"content-type": "application/json"}, timeout=30)
    assert_schema_error(r, loc)


@pytest.mark.parametrize("path,body,loc", [
    ("/v1/score/batch", {"grader": {"type": "math", "rel_tol": -1}, "items": [{"completion": "1"}]},
     ["body", "grader"]),
    ("/get_reward", {"query": ["a"], "labels": ["1", "2"]}, ["body", "labels"]),
    ("/v1/compare", {"grader": {"type": "math"}, "a": "x", "b": "y"}, ["body", "grader"]),
    ("/v1/score", b"\xff\xfe\x00", ["body"]),
])
def test_every_route_answers_422_in_the_schema_shape(service, path, body, loc):
    url, _ = service
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(url + path, content=content, headers={"content-type": "application/json"}, timeout=30)
    assert_schema_error(r, loc)


def test_a_lone_surrogate_never_fails_the_batch(service):
    url, _ = service
    items = [{"completion": rf"\boxed{{{i}}}", "reference": str(i)} for i in range(100)]
    items[37] = {"completion": "\\boxed{\\ud800 7}", "reference": "\\udc00"}
    raw = json.dumps({"grader": "math", "items": items}).replace("\\\\ud800", "\\ud800").replace(
        "\\\\udc00", "\\udc00")
    assert "\\ud800" in raw and "\\\\ud800" not in raw
    r = httpx.post(url + "/v1/score/batch", content=raw, headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [res["reward"] for i, res in enumerate(results) if i != 37] == [1.0] * 99
    assert results[37]["reward"] == 0.0 and results[37]["error"] is None


async def test_a_judge_that_stalls_times_out_into_an_error():
    listener = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    accept = threading.Thread(target=lambda: [held.append(listener.accept()[0]) for _ in range(4)], daemon=True)
    accept.start()
    service = RewardService(Settings(workers=1, inline_allow=["http://127.0.0.1:*"]))
    await service.start()
    try:
        spec = {"type": "judge", "model": "m", "base_url": f"http://127.0.0.1:{port}/v1", "request_timeout_s": 1,
                "retries": 0, "cache": False, "api_key_env": None}
        start = time.monotonic()
        score = await service.score(spec, Sample(prompt="q", completion="an answer"))
        assert score.error is not None and score.reward == 0.0
        assert time.monotonic() - start < 10
    finally:
        await service.close()
        listener.close()
        for conn in held:
            conn.close()


def test_sigterm_answers_unfinished_work_503_and_takes_its_sandbox_and_workers_along(tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "rlvr", "serve", "--workers", "1", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert any("sandbox" in " ".join(p.cmdline()) for p in descendants)  # a private sandbox runs
        answer: dict = {}
        body = {"grader": SLOW_GRADER, "items": [SLOW_ITEM] * 30}  # minutes of work: still running at SIGTERM
        thread = threading.Thread(target=lambda: answer.update(
            response=httpx.post(url + "/v1/score/batch", json=body, timeout=60)))
        thread.start()
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        thread.join(timeout=30)
        response = answer["response"]
        assert response.status_code == 503 and response.headers["retry-after"].isdigit(), response.text
        assert time.monotonic() - sent < 5
        proc.wait(timeout=20)
        assert time.monotonic() - sent < 15
        _, alive = psutil.wait_procs(descendants, timeout=3)  # the forkserver ends when it sees its parent gone
        alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        assert alive == [], [(p.pid, p.cmdline()) for p in alive]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_slow_samples_do_not_hold_up_quick_ones(service):
    url, _ = service  # two workers, two slow samples: without the slow lane both workers would be taken
    slow: list = []
    threads = [threading.Thread(target=lambda: slow.append(httpx.post(
        url + "/v1/score", json={"grader": SLOW_GRADER, **SLOW_ITEM}, timeout=60).json())) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    with httpx.Client(timeout=30) as client:
        quick = [client.post(url + "/v1/score", json={"grader": "math", "completion": rf"\boxed{{{i}}}",
                                                      "reference": str(i)}).json() for i in range(20)]
    assert slow == []  # the quick ones were all answered while both slow samples were still being graded
    assert all((r["reward"], r["error"]) == (1.0, None) for r in quick)
    for thread in threads:
        thread.join()
    assert [(r["reward"], r["error"]) for r in slow] == [(0.0, None)] * 2
