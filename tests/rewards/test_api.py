"""The HTTP API against a real server started with `rlvr serve`."""

import json
import socket

import httpx
import pytest

from tests.procs import free_port, launch

BOXED = "Two and two make four, so the answer is $\\boxed{4}$."


def post(url, path, payload, **kwargs):
    return httpx.post(url + path, json=payload, timeout=30, **kwargs)


def test_score_one(server):
    r = post(server, "/v1/score", {"grader": {"type": "math"}, "completion": BOXED, "reference": "4"})
    assert r.status_code == 200
    body = r.json()
    assert body["reward"] == 1.0 and body["error"] is None and body["elapsed_ms"] > 0


def test_score_by_name_and_by_type(server):
    for grader in ("boxed_math", "math"):
        r = post(server, "/v1/score", {"grader": grader, "completion": BOXED, "reference": "5"})
        assert r.status_code == 200 and r.json()["reward"] == 0.0


def test_batch_keeps_order(server):
    items = [{"completion": f"so \\boxed{{{i % 7}}}", "reference": str(i % 5)} for i in range(60)]
    r = post(server, "/v1/score/batch", {"grader": "math", "items": items})
    assert r.status_code == 200
    rewards = [x["reward"] for x in r.json()["results"]]
    assert rewards == [1.0 if i % 7 == i % 5 else 0.0 for i in range(60)]


@pytest.mark.parametrize("completion", [
    "\x00\x00\\boxed{4", "$" * 1000, "\\frac{1}{0}", "}" * 500 + "{" * 500, "", "\\boxed{}" * 50, "x" * 200_000,
])
def test_malformed_model_output_gets_a_reward_not_an_error(server, completion):
    r = post(server, "/v1/score", {"grader": "math", "completion": completion, "reference": "4"})
    assert r.status_code == 200
    body = r.json()
    assert body["error"] is None and body["reward"] == 0.0


def test_unknown_grader_lists_the_known_ones(server):
    r = post(server, "/v1/score", {"grader": "nope", "completion": "1"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert "unknown grader 'nope'" in error["msg"] and "boxed_math" in error["msg"]
    assert error["loc"] == ["body", "grader"]
    r = post(server, "/v1/score", {"grader": {"type": "nope"}, "completion": "1"})
    assert r.status_code == 422


def test_invalid_spec_fields_are_422(server):
    r = post(server, "/v1/score", {"grader": {"type": "math", "bogus": 1}, "completion": "1"})
    assert r.status_code == 422 and "bogus" in json.dumps(r.json())


@pytest.mark.parametrize("body", [
    b'{"grader": "math", "completion": ', b"[1, 2]", b'{"grader": "math"}', b'{"grader": 3, "completion": "x"}',
    b'{"grader": "math", "items": []}', b"\xff\xfe",
])
def test_malformed_requests_are_422(server, body):
    path = "/v1/score/batch" if b"items" in body else "/v1/score"
    r = httpx.post(server + path, content=body, headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_missing_content_type_is_explained(server):
    r = httpx.post(server + "/v1/score", content=b'{"grader": "math", "completion": "1"}', timeout=10)
    assert r.status_code == 422 and "application/json" in r.text


def test_body_over_the_limit_is_413(server):
    r = post(server, "/v1/score", {"grader": "math", "completion": "9" * 1_200_000})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_chunked_body_over_the_limit_is_413(server):
    def chunks():
        yield b'{"grader": "math", "completion": "'
        for _ in range(30):
            yield b"9" * 50_000
        yield b'"}'

    r = httpx.post(server + "/v1/score", content=chunks(), headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413


def test_too_many_items_is_413(server):
    r = post(server, "/v1/score/batch", {"grader": "math", "items": [{"completion": "1"}] * 501})
    assert r.status_code == 413 and "500" in r.json()["detail"]


def test_get_reward_strips_the_prompt(server):
    payload = {"query": ["Q: 2+2? A: \\boxed{4}", "Q: 2+3? A: \\boxed{4}"], "prompts": ["Q: 2+2? A: ", "Q: 2+3? A: "],
               "labels": ["4", "5"]}
    r = post(server, "/get_reward", payload)
    assert r.status_code == 200
    assert r.json()["rewards"] == [1.0, 0.0] and r.json()["scores"] == [1.0, 0.0]
    assert r.json()["extra_logs"] == {"rlvr_reward": [1.0, 0.0]}  # OpenRLHF logs its own `reward`: no clash


def test_get_reward_checks_lengths(server):
    r = post(server, "/get_reward", {"query": ["a", "b"], "prompts": ["a"], "labels": ["1", "2"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "prompts"]


def test_graders_lists_types_with_schemas(server):
    body = httpx.get(server + "/v1/graders", timeout=10).json()
    assert {"math", "format", "multi"} <= set(body["types"])
    assert body["types"]["math"]["properties"]["type"]["const"] == "math"
    assert body["named"]["boxed_math"]["type"] == "math"


def test_metrics_count_requests_and_rewards(server):
    post(server, "/v1/score", {"grader": "math", "completion": BOXED, "reference": "4"})
    text = httpx.get(server + "/metrics", timeout=10).text
    assert 'rlvr_requests_total{route="/v1/score",status="200"}' in text
    assert 'rlvr_reward_count{grader="math"}' in text
    assert "rlvr_pool_queue_depth" in text and "rlvr_request_seconds_bucket" in text


def test_healthz(server):
    body = httpx.get(server + "/healthz", timeout=10).json()
    assert body["status"] == "ok" and body["workers"] == 2


def test_pathological_sample_times_out_while_others_are_served(server):
    with httpx.Client(timeout=30) as client:
        import threading

        slow: dict = {}
        thread = threading.Thread(target=lambda: slow.update(post(server, "/v1/score", {
            "grader": {"type": "math", "timeout_s": 1.0}, "completion": "\\boxed{9^{9^{9^{9}}}}",
            "reference": "(10^{10})!"}).json()))
        thread.start()
        quick = [client.post(server + "/v1/score", json={"grader": "math", "completion": BOXED, "reference": "4"})
                 for _ in range(10)]
        thread.join()
    assert all(r.json()["reward"] == 1.0 for r in quick)
    assert slow["reward"] == 0.0 and slow["error"] is None


def test_bearer_token(tmp_path):
    port = free_port()
    with launch(["serve", "--workers", "1"], port, env={"RLVR_API_KEY": "s3cret"}) as url:
        payload = {"grader": "math", "completion": BOXED, "reference": "4"}
        assert post(url, "/v1/score", payload).status_code == 401
        assert post(url, "/v1/score", payload, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert post(url, "/v1/score", payload, headers={"authorization": "Bearer s3cret"}).json()["reward"] == 1.0
        assert httpx.get(url + "/healthz").status_code == 200
        assert httpx.get(url + "/metrics").status_code == 401


def test_listens_on_loopback_only(server):
    port = int(server.rsplit(":", 1)[1])
    with socket.socket() as sock:
        sock.settimeout(1)
        assert sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("spec, denied", [
    ({"type": "reward_model", "model": "/srv/any/model"}, "/srv/any/model"),
    ({"type": "process", "scorer": "model", "model": "some-org/prm"}, "some-org/prm"),
    ({"type": "judge", "model": "m", "base_url": "http://169.254.169.254/v1"}, "http://169.254.169.254/v1"),
    ({"type": "judge", "model": "m", "constitution": "/etc/hosts.txt"}, "/etc/hosts.txt"),
    ({"type": "multi", "graders": {"a": {"type": "math"}, "b": {"type": "reward_model", "model": "x/y"}},
      "formula": "a + b"}, "x/y"),
])
def test_request_specs_may_not_reach_models_urls_or_files_the_server_does_not_allow(server, spec, denied):
    r = post(server, "/v1/score", {"grader": spec, "completion": "x"})
    assert r.status_code == 403, r.text
    assert denied in r.json()["detail"] and "inline_allow" in r.json()["detail"]
