"""Signs of reward hacking a score shows, read from its details (and a `multi` grader's sub-scores).

The service counts them per grader in `/metrics`; the trainer's monitors turn their rates into warnings.
A sign is not a verdict: the grader already gave such a sample 0. A rising rate says the policy is
looking for a way around the grader.
- `spam`: several different final answers (the math grader's hedge);
- `injection`: a completion addressed to the judge, blocked unjudged;
- `harness`: a program the sandbox's guard refused (it reached for the test harness);
- `timeout`: checking the sample ran past its budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rewards.types import TIMEOUT_KEY, Score

SIGNS = ("spam", "injection", "harness", "timeout")
SPAM_REASONS = ("several different answers",)  # the math grader's reason for a hedge over distinct values
GUARD_MARKERS = ("SandboxRefusal", "is not available to programs under")  # the sandbox guard's refusal


def nested_details(details: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A score's details and those of its `multi` sub-scores, at any depth."""
    yield details
    subs = details.get("graders")
    if isinstance(subs, dict):
        for sub in subs.values():
            if isinstance(sub, dict) and isinstance(sub.get("details"), dict):
                yield from nested_details(sub["details"])


def signs(score: Score) -> set[str]:
    """Which of SIGNS the score shows."""
    found: set[str] = set()
    for details in nested_details(score.details):
        if details.get("reason") in SPAM_REASONS:
            found.add("spam")
        if details.get("injection"):
            found.add("injection")
        failure = details.get("first_failure")
        if isinstance(failure, dict) and any(m in str(failure.get(key, "")) for m in GUARD_MARKERS
                                             for key in ("reason", "stderr_tail")):
            found.add("harness")
        if details.get(TIMEOUT_KEY) is True:
            found.add("timeout")
    return found
