"""The sandbox itself: languages, the warm pool, and the run and judge operations behind the HTTP routes."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets

from sandbox import runner
from sandbox.cgroups import Cgroups
from sandbox.compare import parse_value, stdout_matches, values_equal
from sandbox.jail import Jail
from sandbox.languages import Language, detect
from sandbox.models import (
    CallTest,
    IoTest,
    JudgeBatchItem,
    JudgeBatchRequest,
    JudgeBatchResult,
    JudgeRequest,
    JudgeResult,
    Limits,
    RunRequest,
    RunResult,
    SandboxSettings,
    ScriptTest,
    TestResult,
)
from sandbox.pool import Worker, WorkerPool

TAIL = 2000
log = logging.getLogger("rlvr.sandbox")


class BadRequest(ValueError):
    """A request this sandbox cannot serve (unknown language, call tests in a language without them)."""


class Sandbox:
    """Owns the worker pool; `run` and `judge` lease one worker per request."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.insecure = settings.insecure
        self.jail = Jail(isolated=not settings.insecure, disk_mb=settings.disk_mb)
        self.languages = detect()
        size = settings.workers or 2 * (os.cpu_count() or 1)
        self.pool = WorkerPool(self.jail, size, settings.max_queue, settings.runs_per_worker)

    async def start(self) -> None:
        """Check that jails can be made (raises IsolationUnavailable), find cgroups, then warm the pool."""
        await asyncio.to_thread(self.jail.probe)
        if self.settings.cgroups:
            self.pool.cgroups = await asyncio.to_thread(Cgroups.detect)
        await self.pool.start()

    async def close(self) -> None:
        await self.pool.close()
        if self.pool.cgroups is not None:
            await asyncio.to_thread(self.pool.cgroups.close)

    @property
    def tree_limits(self) -> str:
        """What bounds a run's whole process tree: "cgroup2", "cgroup1", or "rlimits" (each process alone)."""
        cgroups = self.pool.cgroups
        return "rlimits" if cgroups is None else f"cgroup{cgroups.version}"

    def language(self, name: str) -> Language:
        try:
            return self.languages[name]
        except KeyError:
            raise BadRequest(f"unknown language {name!r}; this sandbox runs {sorted(self.languages)}") from None

    def limits(self, requested: Limits) -> Limits:
        return requested.capped(self.settings.maxima)

    async def _compile(self, worker: Worker, lang: Language, limits: Limits, source: str,
                       files: dict[str, str], marker: str = "") -> RunResult:
        """Build `source`; with a `marker`, also the marker's own source (from stdin) and its link flags."""
        argv = lang.compile + lang.script_flags if marker else lang.compile
        outcome = await runner.run(worker, lang, limits, code=source, files={**files, lang.source: source},
                                   argv=argv, stdin=marker, insecure=self.insecure)
        result = outcome.result
        if result.status not in ("ok", "sandbox_error"):
            result = result.model_copy(update={"status": "compile_error"})
        return result

    async def run(self, req: RunRequest) -> RunResult:
        """Compile if needed, then run once with stdin."""
        lang, limits = self.language(req.language), self.limits(req.limits)
        async with self.pool.lease() as worker:
            if lang.compile:
                compiled = await self._compile(worker, lang, limits, req.code, req.files)
                if compiled.status != "ok":
                    return compiled
                return (await runner.run(worker, lang, limits, code=req.code, stdin=req.stdin, argv=lang.run,
                                         insecure=self.insecure)).result
            return (await runner.run(worker, lang, limits, code=req.code, stdin=req.stdin, files=req.files,
                                     insecure=self.insecure)).result

    async def judge_batch(self, req: JudgeBatchRequest) -> JudgeBatchResult:
        """All jobs admitted at once (or Overloaded), then judged concurrently; results in request order."""
        self.pool.admit(len(req.jobs))
        return JudgeBatchResult(results=list(await asyncio.gather(*(self._judge_item(job) for job in req.jobs))))

    async def _judge_item(self, req: JudgeRequest) -> JudgeBatchItem:
        """One job of a batch; whatever goes wrong with it stays with it."""
        try:
            return JudgeBatchItem(result=await self.judge(req, admitted=True))
        except BadRequest as exc:
            return JudgeBatchItem(error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a sandbox bug on one job must not fail the other jobs
            log.exception("judging one job of a batch failed")
            return JudgeBatchItem(error=f"the sandbox failed on this job: {type(exc).__name__}: {exc}"[:500])

    async def judge(self, req: JudgeRequest, admitted: bool = False) -> JudgeResult:
        """Every test in one leased worker (a compiled program is built once); verdicts in test order."""
        lang, limits = self.language(req.language), self.limits(req.limits)
        if not lang.forked and any(isinstance(t, CallTest) for t in req.tests):
            raise BadRequest(f"call tests need a language with a function-call harness, not {lang.name!r}")
        verdicts: list[TestResult] = []
        compiled: RunResult | None = None
        async with self.pool.lease(admitted) as worker:
            for test in req.tests:
                if req.stop_on_first_failure and verdicts and not verdicts[-1].passed:
                    verdicts.append(TestResult(status="skipped", reason="an earlier test failed"))
                    continue
                script = test.code if isinstance(test, ScriptTest) else None
                if lang.compile:
                    nonce = secrets.token_hex(16) if script is not None else None
                    if script is not None or compiled is None:
                        source = req.code if script is None else req.code + "\n" + script
                        marker = lang.marker_code(nonce) if nonce else ""
                        built = await self._compile(worker, lang, limits, source, req.files, marker)
                        compiled = built if script is None else compiled
                        if built.status != "ok":
                            verdicts.append(_failed(built, "the program did not compile"))
                            continue
                    elif compiled.status != "ok":
                        verdicts.append(_failed(compiled, "the program did not compile"))
                        continue
                    outcome = await runner.run(worker, lang, limits, code=req.code, argv=lang.run, nonce=nonce,
                                               stdin=getattr(test, "stdin", ""), insecure=self.insecure)
                else:
                    call = (test.fn_name, test.args) if isinstance(test, CallTest) else None
                    outcome = await runner.run(worker, lang, limits, code=req.code, files=req.files,
                                               stdin=getattr(test, "stdin", ""), script=script, call=call,
                                               insecure=self.insecure)
                verdicts.append(_verdict(test, outcome, needs_marker=lang.forked or bool(lang.marker)))
        passed = sum(v.passed for v in verdicts)
        return JudgeResult(passed=passed, total=len(verdicts), fraction=passed / len(verdicts), tests=verdicts,
                           compile=compiled, insecure=self.insecure)


def _failed(result: RunResult, reason: str, status: str | None = None) -> TestResult:
    """A verdict carrying the run's exit code and output tails; `status` defaults to the run's."""
    return TestResult(status=status or result.status, passed=status == "passed", reason=reason, exit_code=result.exit_code,  # type: ignore[arg-type]
                      stdout_tail=result.stdout[-TAIL:], stderr_tail=result.stderr[-TAIL:], wall_ms=result.wall_ms)


def _verdict(test: IoTest | ScriptTest | CallTest, outcome: runner.Outcome, needs_marker: bool) -> TestResult:
    """Passed only when the run was clean and its output, its end, or its value is what the test wants."""
    result = outcome.result
    if result.status != "ok":
        return _failed(result, f"the run ended with {result.status}")
    if isinstance(test, IoTest):
        if stdout_matches(result.stdout, test.expected_stdout, test.compare, test.tolerance):
            return _failed(result, "", "passed")
        return _failed(result, f"stdout differs from the expected output (compare={test.compare})", "wrong_answer")
    if needs_marker and not outcome.completed:
        return _failed(result, "the test did not run to its end (the program exited early)", "incomplete")
    if isinstance(test, CallTest):
        try:
            actual = parse_value(outcome.value or "null")
        except ValueError as exc:  # e.g. an int of more digits than Python converts from text
            return _failed(result, f"{test.fn_name} returned a value that cannot be read: {exc}"[:300], "wrong_answer")
        if not values_equal(actual, test.expected, test.tolerance):
            shown = repr(actual)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            return _failed(result, f"{test.fn_name} returned {shown}", "wrong_answer")
    return _failed(result, "", "passed")
