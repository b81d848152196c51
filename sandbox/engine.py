"""The sandbox itself: languages, the warm pool, and the run and judge operations behind the HTTP routes."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from dataclasses import dataclass

from sandbox import runner, scripts
from sandbox.cgroups import Cgroups
from sandbox.compare import parse_value, stdout_matches, values_equal
from sandbox.errors import BadRequest
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
                       files: dict[str, str], test: str | None = None, nonce: str = "") -> RunResult:
        """Build `source`; with a script `test`, the test's build (see languages.CPP_SCRIPT_BUILD), whose
        completion marker writes `nonce`."""
        if test is None:
            argv, stdin, secret = lang.compile, "", None
        else:
            argv, stdin, secret = lang.script + tuple(files), lang.marker_code(nonce), test
        outcome = await runner.run(worker, lang, limits, code=source, files={**files, lang.source: source},
                                   argv=argv, stdin=stdin, secret=secret, insecure=self.insecure)
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
        """Every test in one leased worker, each in a fresh work dir (a compiled program is built once and put
        back); verdicts in test order."""
        lang, limits = self.language(req.language), self.limits(req.limits)
        if not lang.forked and any(isinstance(t, CallTest) for t in req.tests):
            raise BadRequest(f"call tests need a language with a function-call harness, not {lang.name!r}")
        verdicts: list[TestResult] = []
        build = _Build()
        async with self.pool.lease(admitted) as worker:
            for test in req.tests:
                if req.stop_on_first_failure and verdicts and not verdicts[-1].passed:
                    verdicts.append(TestResult(status="skipped", reason="an earlier test failed"))
                elif worker.dirty and not await worker.reset(restore=True):
                    verdicts.append(TestResult(status="runtime_error", reason="the program left its work dir in a "
                                               "state that cannot be emptied (e.g. nested too deep)"))
                elif lang.compile:
                    verdicts.append(await self._judge_compiled(worker, lang, limits, req, test, build))
                else:
                    verdicts.append(await self._judge_interpreted(worker, lang, limits, req, test))
        passed = sum(v.passed for v in verdicts)
        return JudgeResult(passed=passed, total=len(verdicts), fraction=passed / len(verdicts), tests=verdicts,
                           compile=build.result, insecure=self.insecure)

    async def _judge_compiled(self, worker: Worker, lang: Language, limits: Limits, req: JudgeRequest,
                              test: IoTest | ScriptTest | CallTest, build: _Build) -> TestResult:
        """A script test is built with its test; io tests share one build of the program, kept by the worker
        so that each test's fresh work dir gets it back."""
        nonce = None
        if isinstance(test, ScriptTest):
            nonce = secrets.token_hex(16)
            built = await self._compile(worker, lang, limits, req.code, req.files, test.code, nonce)
            if built.status != "ok":
                return _failed(built, "the program did not compile")
        else:
            if build.result is None:
                build.result = await self._compile(worker, lang, limits, req.code, req.files)
                if build.result.status == "ok":
                    await worker.stash([lang.run[0].removeprefix("./")])
            if build.result.status != "ok":
                return _failed(build.result, "the program did not compile")
        outcome = await runner.run(worker, lang, limits, code=req.code, argv=lang.run, nonce=nonce,
                                   stdin=getattr(test, "stdin", ""), insecure=self.insecure)
        return _verdict(test, outcome)

    async def _judge_interpreted(self, worker: Worker, lang: Language, limits: Limits, req: JudgeRequest,
                                 test: IoTest | ScriptTest | CallTest) -> TestResult:
        """One run; a Python script test of value checks on calls runs as calls (see sandbox.scripts)."""
        script = test.code if isinstance(test, ScriptTest) else None
        call = (test.fn_name, test.args) if isinstance(test, CallTest) else None
        analysis = None
        if script is not None and lang.forked:  # a long test is parsed off the event loop
            long = len(script) > scripts.CACHED_CHARS
            analysis = await asyncio.to_thread(scripts.analyse, script) if long else scripts.analyse(script)
        checks = analysis.checks if analysis else None
        outcome = await runner.run(worker, lang, limits, code=req.code, files=req.files,
                                   stdin=getattr(test, "stdin", ""), script=None if checks else script, call=call,
                                   calls=[(c.fn_name, c.args, c.kwargs) for c in checks] if checks else None,
                                   modules=analysis.modules if analysis else (), insecure=self.insecure)
        return _checked(checks, outcome) if checks else _verdict(test, outcome)


@dataclass
class _Build:
    """A job's one build of the program for its io tests (None until an io test needs it)."""

    result: RunResult | None = None


def _failed(result: RunResult, reason: str, status: str | None = None) -> TestResult:
    """A verdict carrying the run's exit code and output tails; `status` defaults to the run's."""
    return TestResult(status=status or result.status, passed=status == "passed", reason=reason, exit_code=result.exit_code,
                      stdout_tail=result.stdout[-TAIL:], stderr_tail=result.stderr[-TAIL:], wall_ms=result.wall_ms)


def _verdict(test: IoTest | ScriptTest | CallTest, outcome: runner.RunOutcome) -> TestResult:
    """Passed only when the run was clean and its output, its end, or its value is what the test wants."""
    result = outcome.result
    if result.status != "ok":
        return _failed(result, f"the run ended with {result.status}")
    if isinstance(test, IoTest):
        if stdout_matches(result.stdout, test.expected_stdout, test.compare, test.tolerance):
            return _failed(result, "", "passed")
        return _failed(result, f"stdout differs from the expected output (compare={test.compare})", "wrong_answer")
    if not outcome.completed:
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


def _checked(checks: tuple[scripts.Check, ...], outcome: runner.RunOutcome) -> TestResult:
    """A script test run as calls: passed when every returned value meets its assert, checked here; a failed
    assert is a runtime_error, as the script's own AssertionError would have been."""
    result = outcome.result
    if result.status != "ok":
        return _failed(result, f"the run ended with {result.status}")
    if not outcome.completed:
        return _failed(result, "the calls did not run to their end (the program exited early)", "incomplete")
    try:
        values = scripts.decode(outcome.value or "")
    except ValueError as exc:
        return _failed(result, str(exc), "runtime_error")
    for check, value in zip(checks, values, strict=False):
        if not check.holds(value):
            shown = repr(value)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            return _failed(result, f"AssertionError: {check.source[:200]} ({check.fn_name} returned {shown})",
                           "runtime_error")
    if len(values) != len(checks):
        return _failed(result, "the calls returned too few values", "runtime_error")
    return _failed(result, "", "passed")
