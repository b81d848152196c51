"""One run in a leased worker: the request to the worker, and the verdict on what came back."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sandbox.errors import WorkerDied
from sandbox.languages import Language
from sandbox.models import Limits, RunResult
from sandbox.pool import Worker


@dataclass
class RunOutcome:
    """A run's public result plus what only the judge needs: did the test part finish, and its value."""

    result: RunResult
    completed: bool = False
    value: str | None = None


def _status(raw: dict[str, Any]) -> str:
    if raw.get("oom_killed"):  # the kernel killed part of the run's tree for its cgroup's memory
        return "memory_limit"
    if raw["timeout"]:
        return "timeout"
    if raw["truncated"]:
        return "output_limit"
    if raw["memory"]:
        return "memory_limit"
    return "ok" if raw["exit_code"] == 0 else "runtime_error"


async def run(
    worker: Worker, lang: Language, limits: Limits, *, code: str, stdin: str = "", files: dict[str, str] | None = None,
    script: str | None = None, call: tuple[str, list[Any]] | None = None,
    calls: list[tuple[str, str, str]] | None = None, modules: tuple[str, ...] = (), argv: tuple[str, ...] | None = None,
    insecure: bool = False, nonce: str | None = None, secret: str | None = None,
) -> RunOutcome:
    """Run `code` (or `argv`, e.g. a compiler) with `script` run after it, `call` made, or `calls` made (Python:
    name, literal arguments, literal keywords); never raises.

    `modules`: standard modules a Python script test may find hidden behind the program's names.
    `nonce`: the marker a compiled script test was built with, which the run must write to count as complete.
    `secret`: what the run finds on fd 4 (a harness reads and closes it before the program starts).
    """
    message: dict[str, Any] = {"stdin": stdin, "files": dict(files or {}), "limits": limits.model_dump()}
    if nonce:
        message["nonce"] = nonce
    if secret is not None:
        message["secret"] = secret
    if argv:
        message["argv"] = list(argv)
    elif lang.forked:
        message.update(source=code, mode="main")
        if script is not None:
            message.update(mode="script", test=script, modules=list(modules))
        elif call is not None:
            message.update(mode="call", fn_name=call[0], args=call[1])
        elif calls is not None:
            message.update(mode="calls", calls=[list(c) for c in calls])
    else:
        message["files"][lang.source] = code
        message["argv"] = list(lang.run)
        if script is not None:  # the harness reads the marker and the test from fd 4: neither is in a file
            message["nonce"] = secrets.token_hex(16)
            message.update(argv=list(lang.script), secret=message["nonce"] + "\n" + script)
    try:
        raw = await worker.run(message)
    except WorkerDied as exc:
        return RunOutcome(RunResult(status="sandbox_error", stderr=str(exc), insecure=insecure))
    fields = {k: raw[k] for k in ("exit_code", "signal", "stdout", "stderr", "truncated", "wall_ms", "cpu_ms",
                                  "max_rss_kb")}
    result = RunResult(status=_status(raw), insecure=insecure, **fields)
    return RunOutcome(result, completed=raw["completed"], value=raw["value"])
