"""Code rewards: the completion's program is run by the sandbox service against the reference's tests.

Reference: {"tests": [...], "prefix"?: str, "suffix"?: str}, with the test kinds of the sandbox's /v1/judge
(io, script, call). The program is first found in the completion (rewards.graders.codeextract, see
CodeSpec.extract); a completion that presents none earns 0 with the reason, and `details.extraction` says
which blocks were used and why. The reward is the fraction of tests passed (or all-or-nothing). A sandbox that
is down or overloaded sets `error` (never a silent 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rewards.errors import SandboxUnavailable
from rewards.graders.base import Grader, SpecBase
from rewards.graders.codeextract import Extraction, extract
from rewards.pool import Outcome
from rewards.sandbox_client import TestRun
from rewards.types import Sample, Score
from sandbox.models import MAX_CODE_CHARS, JudgeRequest, JudgeResult, Limits, Test


def find_program(completion: str, language: str, mode: str, tests: list[dict[str, Any]], prefix: str,
                 prompt: str) -> Extraction:
    """`extract` with positional arguments, as the worker pool calls it."""
    return extract(completion, language=language, mode=mode, tests=tests, prefix=prefix, prompt=prompt)


class CodeSpec(SpecBase):
    """Which language, how to find the code in the completion, and how to turn test results into a reward.

    The sandbox enforces `limits` on every run; `timeout_s`, if set, is how long one sample's tests may take
    in all (default: (tests + 1) x wall_s), which bounds how long the grader waits for the sandbox.
    """

    type: Literal["code"] = "code"
    language: str = Field(default="python", description="A language of the sandbox's /v1/languages.")
    extract: Literal["auto", "continuation", "last_fence", "whole"] = Field(
        default="auto",
        description="auto: the program the completion presents (the latest definitions of the names the tests "
        "use and what they need, or for io tests the block that is the program), found without running "
        "anything; continuation: a bare continuation of the prefix's open function, cut at the first new "
        "top-level statement (Python; other languages read it as auto); last_fence: the last ``` block "
        "tagged with the language (else the last untagged one, else the whole text); whole: the completion "
        "as is.",
    )
    scoring: Literal["fraction", "all_or_nothing"] = "fraction"
    limits: Limits = Field(default_factory=lambda: Limits(wall_s=5.0), description="Per test run.")
    max_code_chars: int = Field(default=100_000, ge=1, le=1_000_000)
    extract_budget_s: float = Field(default=2.0, gt=0, le=30, description="CPU seconds finding one completion's "
                                    "program may take (in a worker, killed past it: reward 0, details.timeout).")


class CodeReference(BaseModel):
    """What a sample's reference holds."""

    model_config = ConfigDict(extra="forbid")

    tests: list[Test] = Field(min_length=1, max_length=1024)
    prefix: str = ""
    suffix: str = ""


def _summary(result: JudgeResult) -> dict[str, Any]:
    details: dict[str, Any] = {
        "passed": result.passed, "total": result.total, "statuses": [t.status for t in result.tests],
    }
    for index, test in enumerate(result.tests):
        if not test.passed and test.status != "skipped":
            details["first_failure"] = {"index": index, "status": test.status, "reason": test.reason,
                                        "stderr_tail": test.stderr_tail[-1000:]}
            break
    if result.insecure:
        details["insecure_sandbox"] = True
    return details


@dataclass(frozen=True)
class _Run:
    """A sample's program, ready for the sandbox: the job, its longest run time, and how it was found."""

    job: JudgeRequest
    work_s: float
    extraction: dict[str, Any]


class CodeGrader(Grader[CodeSpec]):
    """Runs each sample's program against its tests in the sandbox; a batch's samples run concurrently across the
    sandbox's pool."""

    spec_type = CodeSpec
    version = "1"

    async def grade(self, samples: list[Sample]) -> list[Score]:
        try:
            client = self.context.resources.sandbox()
        except SandboxUnavailable as exc:
            return [Score.failed(str(exc)) for _ in samples]
        spec = self.spec
        done: dict[int, Score] = {}
        wanted: list[tuple[int, CodeReference]] = []
        for i, sample in enumerate(samples):
            reference = self._reference(sample)
            if isinstance(reference, Score):
                done[i] = reference
            else:
                wanted.append((i, reference))
        # finding the programs parses every completion: in the worker pool, where the budget is enforced by a kill
        found = await self.context.pool.map(find_program, [(
            # lone surrogates (which no source file can hold) would make the whole chunk's request unsendable
            samples[i].completion.encode("utf-8", "replace").decode(), spec.language, spec.extract,
            [t.model_dump() for t in reference.tests], reference.prefix, samples[i].prompt)
            for i, reference in wanted], timeout=spec.extract_budget_s)
        runs: dict[int, _Run] = {}
        for (i, reference), outcome in zip(wanted, found, strict=True):
            prepared = self._prepare(reference, outcome)
            if isinstance(prepared, Score):
                done[i] = prepared
            else:
                runs[i] = prepared
        results = await client.run_tests([r.job for r in runs.values()], [r.work_s for r in runs.values()])
        for (i, run), result in zip(runs.items(), results, strict=True):
            done[i] = self._score(result, run.extraction)
        return [done[i] for i in range(len(samples))]

    @staticmethod
    def _reference(sample: Sample) -> CodeReference | Score:
        try:
            return CodeReference.model_validate(sample.reference)
        except ValidationError as exc:
            return Score.failed(f"invalid code reference: {exc.errors(include_url=False)[:3]}")

    def _prepare(self, reference: CodeReference, outcome: Outcome) -> Score | _Run:
        """The sandbox job for a sample; or, for a sample that needs no run (no program, extraction over budget,
        code too long), its score."""
        spec = self.spec
        if outcome.timeout:
            return Score.timed_out(spec.extract_budget_s, "finding the program took longer than its budget")
        if outcome.fault is not None:
            return Score.wrong(f"finding the program: {outcome.fault}", crashed=True)
        if outcome.error is not None or not isinstance(outcome.value, Extraction):
            # a bug of ours on odd text is a machinery failure, never a made-up 0
            return Score.failed(f"code extraction failed: {outcome.error or type(outcome.value).__name__}")
        found = outcome.value
        if found.code is None or not found.code.strip():
            return Score.wrong(found.details.get("reason", "no code in the completion"), extraction=found.details)
        code = found.code
        limit = min(spec.max_code_chars, MAX_CODE_CHARS - len(reference.prefix) - len(reference.suffix))
        if len(code) > limit:
            return Score.wrong(f"code longer than the limit of {limit} characters", extraction=found.details)
        job = JudgeRequest(language=spec.language, code=reference.prefix + code + reference.suffix,
                           tests=reference.tests, limits=spec.limits,
                           stop_on_first_failure=spec.scoring == "all_or_nothing")
        return _Run(job, spec.timeout_s or (len(reference.tests) + 1) * spec.limits.wall_s, found.details)

    def _score(self, result: TestRun, extraction: dict[str, Any]) -> Score:
        if isinstance(result, SandboxUnavailable):
            return Score.failed(str(result))
        details = {**_summary(result), "extraction": extraction}
        if any(t.status == "sandbox_error" for t in result.tests):
            return Score.failed("the sandbox failed while running the tests", **details)
        if self.spec.scoring == "all_or_nothing":
            return Score(reward=float(result.passed == result.total), details=details)
        return Score(reward=result.fraction, details=details)
