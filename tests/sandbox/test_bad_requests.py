"""Sandbox requests that used to be 500s or cost a warm worker: 422s in the schema's shape, or a normal run."""

import json

import httpx
import pytest

from tests.http_asserts import assert_schema_error
from tests.sandbox.conftest import assert_healthy

PYTHON = {"language": "python", "code": "print(1)"}
CALL = [{"type": "call", "fn_name": "f", "args": [], "expected": 1}]


@pytest.mark.parametrize("raw,loc", [
    ('{"language": "python", "code": "x", "limits": {"wall_s": NaN}}', ["body", "limits", "wall_s"]),
    ('{"language": "python", "code": "x", "limits": {"memory_mb": 1e400}}', ["body", "limits", "memory_mb"]),
    ('{"language": "python", "code": "x", "limits": {"cpu_s": -Infinity}}', ["body", "limits", "cpu_s"]),
])
def test_non_finite_limits_are_422(sandbox_url, raw, loc):
    r = httpx.post(sandbox_url + "/v1/run", content=raw, headers={"content-type": "application/json"}, timeout=30)
    assert_schema_error(r, loc)


def test_non_finite_tolerance_is_422(sandbox_url):
    raw = ('{"language": "python", "code": "print(1)", "tests": [{"type": "io", "expected_stdout": "1", '
           '"compare": "float", "tolerance": NaN}]}')
    r = httpx.post(sandbox_url + "/v1/judge", content=raw, headers={"content-type": "application/json"}, timeout=30)
    assert_schema_error(r, ["body", "tests"])


@pytest.mark.parametrize("files", [{"a\x00b": "x"}, {"a/": "x"}, {"a": "x", "a/b": "y"}, {"a/b/c": "x", "a/b": "y"},
                                   {"./a": "x"}, {"a//b": "x"}, {".": "x"}])
def test_file_names_that_cannot_be_written_are_422(sandbox_url, files):
    for path, body in (("/v1/run", {**PYTHON, "files": files}),
                       ("/v1/judge", {**PYTHON, "tests": CALL, "files": files})):
        assert_schema_error(httpx.post(sandbox_url + path, json=body, timeout=30), ["body", "files"])
    assert_healthy(sandbox_url)


def test_lone_surrogates_in_code_and_stdin_run_instead_of_failing(sandbox_url):
    raw = ('{"language": "python", "code": "import sys\\nprint(len(sys.stdin.read()))  # \\ud800", '
           '"stdin": "ab\\udc00"}')
    r = httpx.post(sandbox_url + "/v1/run", content=raw, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["stdout"] == "3\n"


def test_a_lone_surrogate_in_one_job_does_not_fail_the_batch(sandbox_url):
    good = {"language": "python", "code": "def f():\n    return 1", "tests": CALL}
    bad = {**good, "code": "def f():\n    return 'SURROGATE'"}
    raw = json.dumps({"jobs": [good, bad]}).replace("SURROGATE", "\\ud800")
    r = httpx.post(sandbox_url + "/v1/judge/batch", content=raw, headers={"content-type": "application/json"},
                   timeout=60)
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["result"]["passed"] == 1 and second["result"]["passed"] == 0


@pytest.mark.parametrize("body,loc", [
    ({"language": "cobol", "code": "x"}, ["body"]),
    ({"language": "bash", "code": "x", "tests": CALL}, ["body"]),
])
def test_requests_the_sandbox_cannot_serve_are_422_lists(sandbox_url, body, loc):
    path = "/v1/judge" if "tests" in body else "/v1/run"
    assert_schema_error(httpx.post(sandbox_url + path, json=body, timeout=30), loc)


def test_deeply_nested_test_values_are_422(sandbox_url):
    nested: list = []
    for _ in range(900):
        nested = [nested]
    body = {**PYTHON, "tests": [{"type": "call", "fn_name": "f", "args": [nested], "expected": 1}]}
    assert_schema_error(httpx.post(sandbox_url + "/v1/judge", json=body, timeout=30), ["body"])
