"""OpenAI's `python` grader: the spec's `source` defines `grade(sample, item) -> float`, run in our sandbox.

It runs as a Python program of the sandbox (the same SandboxClient and jail as the code grader) with
OpenAI's documented limits: source under 256 KiB, 2 minutes, 2 GiB of memory, no network (the sandbox
lowers any of them to its own maxima). `sample` and `item` are built as for the templates
(rewards.graders.openai.templates) and reach the program as a JSON file, never as code. The value
`grade` returns is read from a line marked with a nonce the program's inputs never contain.

The reward is that value as returned. A value that is not a number, not finite, or beyond +-1e6, a
`grade` that raises, and a run past its limits earn 0 with the reason in details; a sandbox that is down
sets `error`. A `pass_threshold` sets `details.passed`; `image_tag` is accepted and ignored (one Python).
"""

from __future__ import annotations

import ast
import json
import math
import secrets
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from rewards.errors import SandboxUnavailable
from rewards.graders.base import Grader
from rewards.graders.openai.spec import OpenAISpec
from rewards.graders.openai.templates import item_view, sample_view
from rewards.sandbox_client import TestRun
from rewards.types import Sample, Score
from sandbox.models import JudgeRequest, Limits, ScriptTest

MAX_SOURCE_BYTES = 256 * 1024
WALL_S, MEMORY_MB = 120.0, 2048
MAX_ABS_VALUE = 1e6
INPUT_FILE = "grade_input.json"
# runs after the source, in the same program; {marker} is a fresh nonce per sample
HARNESS = """
import json as _rlvr_json
with open({file!r}, encoding="utf-8") as _rlvr_file:
    _rlvr_input = _rlvr_json.load(_rlvr_file)
_rlvr_value = grade(_rlvr_input["sample"], _rlvr_input["item"])
if isinstance(_rlvr_value, (int, float)) and not isinstance(_rlvr_value, bool):
    try:
        _rlvr_out = {{"value": float(_rlvr_value)}}
    except OverflowError:
        _rlvr_out = {{"value": float("inf")}}
else:
    _rlvr_out = {{"type": type(_rlvr_value).__name__}}
print("\\n{marker}" + _rlvr_json.dumps(_rlvr_out), flush=True)
"""


class PythonSpec(OpenAISpec):
    type: Literal["python"] = "python"
    source: str = Field(min_length=1, description="Python source defining grade(sample, item) -> float.")
    image_tag: str | None = Field(default=None, max_length=128, description="Accepted for OpenAI's shape; unused.")
    pass_threshold: float | None = Field(default=None, description="details.passed is whether the value reaches it.")

    @field_validator("source")
    @classmethod
    def _defines_grade(cls, source: str) -> str:
        if len(source.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
            raise ValueError(f"source is over {MAX_SOURCE_BYTES // 1024} KiB")
        try:
            tree = ast.parse(source)  # parsed, never run here
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise ValueError(f"source does not parse: {exc}") from exc
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "grade":
                if isinstance(node, ast.AsyncFunctionDef) or len(node.args.posonlyargs + node.args.args) < 2:
                    raise ValueError("grade must be a plain function of (sample, item)")
                return source
        raise ValueError("source must define grade(sample, item) at the top level")


class PythonGrader(Grader[PythonSpec]):
    """Runs `grade` once per sample in the sandbox; a batch's samples run concurrently there."""

    spec_type: ClassVar = PythonSpec
    version = "1"

    @property
    def wall_s(self) -> float:
        return self.spec.timeout_s or WALL_S

    async def grade(self, samples: list[Sample]) -> list[Score]:
        try:
            client = self.context.resources.sandbox()
        except SandboxUnavailable as exc:
            return [Score.failed(str(exc)) for _ in samples]
        markers = [f"RLVR-GRADE-{secrets.token_hex(16)}:" for _ in samples]
        jobs: dict[int, JudgeRequest] = {}
        done: dict[int, Score] = {}
        for i, (sample, marker) in enumerate(zip(samples, markers, strict=True)):
            try:
                data = json.dumps({"sample": sample_view(sample), "item": item_view(sample)}, allow_nan=False)
            except (ValueError, TypeError) as exc:
                done[i] = Score.failed(f"the sample cannot be passed to grade(): {exc}")
                continue
            jobs[i] = JudgeRequest(language="python", code=self.spec.source, files={INPUT_FILE: data},
                                   tests=[ScriptTest(code=HARNESS.format(file=INPUT_FILE, marker=marker))],
                                   limits=Limits(wall_s=self.wall_s, memory_mb=MEMORY_MB))
        results = await client.run_tests(list(jobs.values()), [self.wall_s] * len(jobs))
        for (i, _), result in zip(jobs.items(), results, strict=True):
            done[i] = self._score(result, markers[i])
        return [done[i] for i in range(len(samples))]

    def _score(self, result: TestRun, marker: str) -> Score:
        if isinstance(result, SandboxUnavailable):
            return Score.failed(str(result))
        test = result.tests[0]
        if test.status == "sandbox_error":
            return Score.failed(f"the sandbox failed while running grade(): {test.reason}")
        if test.status == "timeout":
            return Score.timed_out(self.wall_s, "grade() ran past its time limit")
        if not test.passed:
            return Score.wrong(f"grade() did not return: {test.status}", stderr_tail=test.stderr_tail[-1000:])
        lines = [line for line in test.stdout_tail.splitlines() if line.startswith(marker)]
        if not lines:
            return Score.failed("grade() returned but its value was not found in the output")
        try:
            out = json.loads(lines[-1][len(marker):])
        except ValueError:
            return Score.failed("grade() returned but its value line was cut short")
        value = out.get("value") if isinstance(out, dict) else None
        if not isinstance(value, float):
            return Score.wrong(f"grade() returned a {out.get('type')}, not a number")
        if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
            return Score.wrong(f"grade() returned {value}, outside [-{MAX_ABS_VALUE:g}, {MAX_ABS_VALUE:g}]")
        details: dict[str, Any] = {"value": value}
        if self.spec.pass_threshold is not None:
            details["passed"] = value >= self.spec.pass_threshold
        return Score(reward=value, details=details)
