"""Signs of reward hacking, read from real graders' scores, and counted per grader in a real service's /metrics."""

import re

import httpx
import pytest

from rewards.hacking import signs
from rewards.types import Score

HEDGE = "It is either $\\boxed{2}$ or $\\boxed{3}$."


def sign_count(text: str, grader: str, sign: str) -> float:
    found = re.search(rf'rlvr_hacking_signs_total\{{grader="{grader}",sign="{sign}"\}} (\S+)', text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("details,expected", [
    ({"reason": "several different answers"}, {"spam"}),
    ({"injection": {"rule": "verdict_marker"}}, {"injection"}),
    ({"first_failure": {"reason": "error", "stderr_tail": "SandboxRefusal: os.system is not available"}}, {"harness"}),
    ({"timeout": True, "timeout_s": 2}, {"timeout"}),
    ({"graders": {"acc": {"reward": 0, "details": {"reason": "several different answers"}},
                  "fmt": {"reward": 1, "details": {}}}}, {"spam"}),
    ({"reason": "wrong answer", "timeout": False}, set()),
])
def test_signs_are_read_from_details_and_sub_scores(details, expected):
    assert signs(Score(reward=0.0, details=details)) == expected


def test_the_service_counts_a_hedge_as_spam_for_its_grader(server):
    before = sign_count(httpx.get(server + "/metrics", timeout=10).text, "boxed_math", "spam")
    r = httpx.post(server + "/v1/score", json={"grader": "boxed_math", "completion": HEDGE, "reference": "2"}, timeout=30)
    assert r.status_code == 200 and r.json()["reward"] == 0.0
    assert signs(Score.model_validate(r.json())) == {"spam"}  # the real math grader's details carry the sign
    after = sign_count(httpx.get(server + "/metrics", timeout=10).text, "boxed_math", "spam")
    assert after == before + 1
