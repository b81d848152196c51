"""The sandbox's HTTP surface: health, bad requests, overload, and the insecure mode."""

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.procs import REPO, free_port, launch
from tests.sandbox.conftest import run


def test_healthz_reports_isolation(sandbox_url):
    body = httpx.get(sandbox_url + "/healthz", timeout=10).json()
    assert body["status"] == "ok" and body["isolation"] == "bwrap" and body["insecure"] is False
    assert body["workers"] == 2


@pytest.mark.parametrize("payload,needle", [
    ({"language": "cobol", "code": "x"}, "unknown language"),
    ({"language": "python", "code": "x", "files": {"../escape": "x"}}, "relative path"),
    ({"language": "python", "code": "x", "files": {"/etc/x": "x"}}, "relative path"),
    ({"language": "python", "code": "x", "limits": {"wall_s": -1}}, "greater than 0"),
    ({"language": "python", "code": "x", "typo": 1}, "Extra inputs"),
    ({"language": "python"}, "Field required"),
])
def test_bad_run_requests_are_422(sandbox_url, payload, needle):
    r = httpx.post(sandbox_url + "/v1/run", json=payload, timeout=10)
    assert r.status_code == 422 and needle in r.text


def test_bad_judge_requests_are_422(sandbox_url):
    call = {"type": "call", "fn_name": "f", "args": [], "expected": 1}
    r = httpx.post(sandbox_url + "/v1/judge", json={"language": "bash", "code": "x", "tests": [call]}, timeout=10)
    assert r.status_code == 422 and "call tests" in r.text
    r = httpx.post(sandbox_url + "/v1/judge", json={"language": "python", "code": "x", "tests": []}, timeout=10)
    assert r.status_code == 422
    r = httpx.post(sandbox_url + "/v1/judge", json={"language": "python", "code": "x",
                                                    "tests": [{"type": "fuzz"}]}, timeout=10)
    assert r.status_code == 422


def test_judge_batch_keeps_order_and_refuses_only_the_bad_job(sandbox_url):
    square = [{"type": "call", "fn_name": "square", "args": [3], "expected": 9}]
    jobs = [{"language": "python", "code": f"def square(x):\n    return x * x + {i % 2}", "tests": square}
            for i in range(6)]
    jobs.insert(3, {"language": "cobol", "code": "x", "tests": square})
    r = httpx.post(sandbox_url + "/v1/judge/batch", json={"jobs": jobs}, timeout=60)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == 7
    assert "unknown language" in results[3]["error"] and results[3]["result"] is None
    passed = [item["result"]["passed"] for i, item in enumerate(results) if i != 3]
    assert passed == [1, 0, 1, 0, 1, 0]


@pytest.mark.parametrize("payload", [{"jobs": []}, {"jobs": [{"language": "python", "code": "x", "tests": []}]},
                                     {"jobs": [{"language": "python", "code": "x"}] * 257}])
def test_bad_judge_batches_are_422(sandbox_url, payload):
    assert httpx.post(sandbox_url + "/v1/judge/batch", json=payload, timeout=10).status_code == 422


def test_overload_answers_503_with_retry_after():
    with launch(["sandbox", "--workers", "1", "--max-queue", "0"], free_port()) as url:
        slow = threading.Thread(target=run, args=(url, "import time\ntime.sleep(3)"), kwargs={"limits": {"wall_s": 10}})
        slow.start()
        while httpx.get(url + "/healthz", timeout=10).json()["busy"] == 0:
            time.sleep(0.02)
        r = httpx.post(url + "/v1/run", json={"language": "python", "code": "print(1)"}, timeout=10)
        job = {"language": "python", "code": "print(1)", "tests": [{"type": "io", "expected_stdout": "1"}]}
        batch = httpx.post(url + "/v1/judge/batch", json={"jobs": [job]}, timeout=10)
        slow.join()
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert batch.status_code == 503 and "busy" in batch.text
        # idle and nothing waiting: a batch larger than the queue is taken rather than refused forever
        bigger = httpx.post(url + "/v1/judge/batch", json={"jobs": [job] * 3}, timeout=30)
        assert bigger.status_code == 200 and [i["result"]["passed"] for i in bigger.json()["results"]] == [1, 1, 1]
        assert run(url, "print(1)")["stdout"] == "1\n"


def test_workers_are_replaced_after_runs_per_worker_jobs():
    with launch(["sandbox", "--workers", "1", "--runs-per-worker", "2"], free_port()) as url:
        outputs = [run(url, f"print({i})")["stdout"] for i in range(5)]
        health = httpx.get(url + "/healthz", timeout=10).json()
    assert outputs == [f"{i}\n" for i in range(5)]
    assert health["jobs"] == 5 and health["recycled"] >= 2, health


def test_a_worker_that_died_while_idle_is_replaced_not_handed_a_job():
    import psutil

    port = free_port()
    with launch(["sandbox", "--workers", "1"], port) as url:
        service = next(p for p in psutil.Process().children() if str(port) in p.cmdline())
        for process in service.children(recursive=True):  # bwrap and the worker inside it
            process.kill()
        time.sleep(0.5)
        assert run(url, "print(6 * 7)")["stdout"] == "42\n"
        assert httpx.get(url + "/healthz", timeout=10).json()["recycled"] >= 1


def test_refuses_to_start_without_bwrap():
    env = {**os.environ, "PATH": "/nonexistent"}
    proc = subprocess.run([sys.executable, "-m", "rlvr", "sandbox", "--port", str(free_port())], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "refusing to start" in proc.stderr and "--insecure-no-isolation" in proc.stderr


def test_insecure_mode_says_so_everywhere():
    with launch(["sandbox", "--workers", "1", "--insecure-no-isolation"], free_port()) as url:
        health = httpx.get(url + "/healthz", timeout=10).json()
        assert health["insecure"] is True and health["isolation"] == "none" and "WITHOUT" in health["warning"]
        r = httpx.post(url + "/v1/run", json={"language": "python", "code": "print(2 + 2)"}, timeout=30)
        assert r.json()["insecure"] is True and r.json()["stdout"] == "4\n"
        assert "WITHOUT" in r.headers["X-Sandbox-Insecure"]
        body = httpx.post(url + "/v1/judge", json={"language": "python", "code": "print(1)", "tests": [
            {"type": "io", "expected_stdout": "1"}]}, timeout=30).json()
        assert body["insecure"] is True and body["passed"] == 1
