"""rlvr's reward service: verifiers, model graders and the HTTP API that serves them.

What users import comes from here:

    from rewards import verify_math, RewardClient, MathSpec

- `Sample` and `Score`: a completion in, a verdict out;
- `verify_math(reference, completion)`: the math grader in one call, without a server;
- `RewardClient` and `AsyncRewardClient`: clients of a running service (`rlvr serve`);
- `RewardService` and `Settings`: the service without HTTP, in this process;
- the grader specs (`MathSpec`, `FormatSpec`, `CodeSpec`, ...), accepted wherever a grader is named;
- the errors, under one base `RewardsError` (see `rewards.errors` for the rule they serve).

Everything but the errors loads on first use, so `import rewards` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from rewards.errors import (
    ForbiddenResource,
    GraderBuildError,
    GraderError,
    InvalidGrader,
    JudgeUnavailable,
    ModelServerError,
    ModelServerUnreachable,
    RewardsError,
    RewardServiceError,
    SandboxUnavailable,
    Unavailable,
    UnknownGrader,
)

if TYPE_CHECKING:
    from rewards.client import AsyncRewardClient, RewardClient
    from rewards.graders.base import GraderRef, SpecBase
    from rewards.graders.code import CodeSpec
    from rewards.graders.format import FormatSpec
    from rewards.graders.judge import JudgeSpec
    from rewards.graders.math import MathSpec
    from rewards.graders.multi import MultiSpec
    from rewards.graders.openai.label_model import LabelModelSpec
    from rewards.graders.openai.python import PythonSpec
    from rewards.graders.openai.score_model import ScoreModelSpec
    from rewards.graders.openai.string_check import StringCheckSpec
    from rewards.graders.openai.text_similarity import TextSimilaritySpec
    from rewards.graders.process import ProcessSpec
    from rewards.graders.reward_model import RewardModelSpec
    from rewards.service import RewardService
    from rewards.settings import Settings
    from rewards.types import Sample, Score
    from rewards.verify import verify_math

_LAZY = {
    "Sample": "rewards.types", "Score": "rewards.types",
    "verify_math": "rewards.verify",
    "RewardClient": "rewards.client", "AsyncRewardClient": "rewards.client",
    "RewardService": "rewards.service", "Settings": "rewards.settings",
    "GraderRef": "rewards.graders.base", "SpecBase": "rewards.graders.base",
    "MathSpec": "rewards.graders.math", "FormatSpec": "rewards.graders.format", "MultiSpec": "rewards.graders.multi",
    "CodeSpec": "rewards.graders.code", "JudgeSpec": "rewards.graders.judge",
    "ProcessSpec": "rewards.graders.process", "RewardModelSpec": "rewards.graders.reward_model",
    "StringCheckSpec": "rewards.graders.openai.string_check", "TextSimilaritySpec": "rewards.graders.openai.text_similarity",
    "ScoreModelSpec": "rewards.graders.openai.score_model", "LabelModelSpec": "rewards.graders.openai.label_model",
    "PythonSpec": "rewards.graders.openai.python",
}


def __getattr__(name: str) -> object:
    """Load a public name's module on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'rewards' has no attribute {name!r}")
    value: object = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AsyncRewardClient", "CodeSpec", "ForbiddenResource", "FormatSpec", "GraderBuildError", "GraderError",
    "GraderRef", "InvalidGrader", "JudgeSpec", "JudgeUnavailable", "LabelModelSpec", "MathSpec",
    "ModelServerError", "ModelServerUnreachable", "MultiSpec", "ProcessSpec", "PythonSpec", "RewardClient", "RewardModelSpec",
    "RewardService", "RewardServiceError", "RewardsError", "Sample", "SandboxUnavailable", "Score",
    "ScoreModelSpec", "Settings", "SpecBase", "StringCheckSpec", "TextSimilaritySpec", "Unavailable",
    "UnknownGrader", "verify_math",
]
