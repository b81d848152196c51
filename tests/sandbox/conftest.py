import httpx
import pytest

from tests.procs import free_port, launch

SECRET = "rlvr-sandbox-test-secret-4711"


@pytest.fixture(scope="session")
def sandbox_url():
    """A real sandbox service (bwrap jails) on a free loopback port, with a secret in its environment."""
    with launch(["sandbox", "--workers", "2"], free_port(), env={"RLVR_TEST_SECRET": SECRET}) as url:
        yield url


@pytest.fixture(scope="session")
def single_worker_url():
    """A sandbox with one worker, so consecutive runs share it: what one run leaves, the next would see."""
    with launch(["sandbox", "--workers", "1"], free_port()) as url:
        yield url


def run(url, code, language="python", **fields):
    r = httpx.post(url + "/v1/run", json={"language": language, "code": code, **fields}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def judge(url, code, tests, language="python", **fields):
    r = httpx.post(url + "/v1/judge", json={"language": language, "code": code, "tests": tests, **fields},
                   timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def assert_healthy(url):
    """The service answers and runs the next program correctly."""
    assert httpx.get(url + "/healthz", timeout=10).json()["status"] == "ok"
    assert run(url, "print(6 * 7)")["stdout"] == "42\n"
