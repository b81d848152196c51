"""The exceptions of the rewards package, under one base: `except rewards.RewardsError` catches them all.

The rule they serve, stated once: bad model output is a reward, machinery failure is `error`. A completion
that is unparseable, wrong, too slow to check or breaking a rule never raises: its grader returns a Score
with reward 0 and the reason in `details` (`Score.wrong`, `Score.timed_out`). A part of the machinery that
fails (a sandbox down, a judge unreachable, a grader bug) reaches the trainer as a Score with `error` set
(`Score.failed`), which trainers drop instead of training on a made-up 0. So these exceptions are for the
code around grading: a grader reference that cannot be used (the service answers 4xx), a client that gets
no answer, a dependency that stays down through its retries (caught by its grader and turned into `error`).

Exceptions that only carry control inside one module stay there: the math parser's ParseError/TooLarge
(rewards.mathgrade.expr: the answer is not an expression, a reward of 0), the judge parser's Ambiguous
(rewards.judge.parse) and the pool's WorkerDied (rewards.pool). None of them leaves its grader.
"""

from __future__ import annotations

from typing import Any


class RewardsError(Exception):
    """The base of every exception the rewards package raises on purpose."""


class GraderError(RewardsError):
    """A grader reference (a name or a spec) the service cannot use; the HTTP API answers it with a 4xx."""


class UnknownGrader(GraderError, LookupError):
    """A grader name that is neither a named grader nor a grader type."""


class InvalidGrader(GraderError, ValueError):
    """A grader spec that does not validate; `errors` is pydantic's error list."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid grader spec")
        self.errors = errors


class ForbiddenResource(GraderError, PermissionError):
    """A spec from a request names a model, URL or file the server does not allow inline."""


class GraderBuildError(GraderError, ValueError):
    """A spec that validates but cannot be built (an unreadable file, say)."""


class Unavailable(RewardsError, RuntimeError):
    """A service that grading depends on did not answer usably within its retries: a machinery failure."""


class SandboxUnavailable(Unavailable):
    """No code sandbox answered (down, overloaded, or refusing the request)."""


class JudgeUnavailable(Unavailable):
    """The LLM judge could not be reached or did not answer usably."""


class RewardServiceError(RewardsError, RuntimeError):
    """The reward service refused a client's request (4xx) or stayed unreachable through every retry."""


class ModelServerError(Unavailable):
    """A model server (`rlvr serve-model`, TEI, vLLM) did not answer usably within the budget."""


class ModelServerUnreachable(ModelServerError):
    """No connection to the model server: it is down (a private one is restarted on the next call)."""
