"""The sandbox's HTTP shapes: run and judge requests, their results, and the server's settings."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RunStatus = Literal[
    "ok", "runtime_error", "compile_error", "timeout", "memory_limit", "output_limit", "sandbox_error"
]
TestStatus = Literal[
    "passed", "wrong_answer", "incomplete", "runtime_error", "compile_error", "timeout", "memory_limit",
    "output_limit", "sandbox_error", "skipped",
]
MAX_CODE_CHARS = 1_000_000
MAX_BATCH_JOBS = 256


MAX_DEPTH = 64  # nesting of request data; deeper data fails pickling and recursion later


def clean_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (a no-op for valid text)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """JSON-like `value` with every string (keys too) cleaned; ValueError when nested deeper than `max_depth`."""

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, str):
            return clean_text(node)
        if isinstance(node, (dict, list, tuple)):
            if depth >= max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                return {walk(k, depth + 1): walk(v, depth + 1) for k, v in node.items()}
            return [walk(v, depth + 1) for v in node]
        return node

    return walk(value, 0)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN/inf limits and tolerances: 422


def _clean_request(data: Any) -> Any:
    """A request's data with lone surrogates replaced (they cannot be written to a file or a pipe as UTF-8);
    ValueError (a 422) when nested deeper than MAX_DEPTH."""
    return clean(data) if isinstance(data, dict) else data


class Limits(Strict):
    """Resource limits of one run; anything above the server's maxima is lowered to them."""

    wall_s: float = Field(default=10.0, gt=0, description="Wall-clock seconds before the process tree is killed.")
    cpu_s: float | None = Field(default=None, gt=0, description="CPU seconds; default: wall_s.")
    memory_mb: int = Field(default=512, ge=16, description="Data/heap memory in MiB.")
    output_kb: int = Field(default=1024, ge=1, description="Bytes of stdout (and of stderr) kept; more is an error.")
    pids: int = Field(default=64, ge=1, description="Processes the run may have at once.")

    def capped(self, maxima: Limits) -> Limits:
        """These limits lowered to `maxima`, with cpu_s filled in."""
        wall = min(self.wall_s, maxima.wall_s)
        return Limits(
            wall_s=wall, cpu_s=min(self.cpu_s or wall, maxima.cpu_s or maxima.wall_s),
            memory_mb=min(self.memory_mb, maxima.memory_mb), output_kb=min(self.output_kb, maxima.output_kb),
            pids=min(self.pids, maxima.pids),
        )


def _check_files(files: dict[str, str]) -> dict[str, str]:
    """Names must be plain relative paths inside the work dir, and no file may be another's directory."""
    for name in files:
        path = PurePosixPath(name)
        if (not path.parts or "\0" in name or path.is_absolute() or ".." in path.parts or len(name) > 255
                or str(path) != name):  # str() drops a trailing slash, "./" and "//"
            raise ValueError(f"file name {name!r} must be a relative path inside the work directory "
                             "(no NUL, '..', '.', empty parts or trailing slash)")
        if clash := next((str(p) for p in path.parents if str(p) in files), None):
            raise ValueError(f"file name {clash!r} is also the directory of {name!r}")
    return files


class RunRequest(Strict):
    """Run one program."""

    language: str = Field(description="One of GET /v1/languages.")
    code: str = Field(max_length=MAX_CODE_CHARS)
    stdin: str = Field(default="", max_length=16_000_000)
    files: dict[str, Annotated[str, Field(max_length=16_000_000)]] = Field(
        default_factory=dict, max_length=64, description="Extra files, relative path -> text, in the work dir."
    )
    limits: Limits = Field(default_factory=Limits)

    _files = field_validator("files")(_check_files)
    _clean = model_validator(mode="before")(_clean_request)


class RunResult(Strict):
    """What one run did."""

    status: RunStatus
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    max_rss_kb: int = 0
    insecure: bool = Field(default=False, description="True when the server runs without isolation.")


class IoTest(Strict):
    """Feed stdin, compare stdout."""

    type: Literal["io"] = "io"
    stdin: str = Field(default="", max_length=16_000_000)
    expected_stdout: str = Field(max_length=16_000_000)
    compare: Literal["exact", "whitespace", "float"] = "whitespace"
    tolerance: float = Field(default=1e-6, ge=0, description="For compare=float: absolute and relative tolerance.")


class ScriptTest(Strict):
    """Code appended after the solution; passes when it runs to its end and the program exits 0."""

    type: Literal["script"] = "script"
    code: str = Field(max_length=MAX_CODE_CHARS)


class CallTest(Strict):
    """Call a function of the solution (Python) and compare the value it returns."""

    type: Literal["call"] = "call"
    fn_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
                         description="A function, or Class.method (the class is instantiated with no arguments).")
    args: list[Any] = Field(default_factory=list)
    expected: Any = None
    tolerance: float = Field(default=1e-9, ge=0, description="Tolerance for floats in the returned value.")


Test = Annotated[IoTest | ScriptTest | CallTest, Field(discriminator="type")]


class JudgeRequest(Strict):
    """Run a solution against tests."""

    language: str
    code: str = Field(max_length=MAX_CODE_CHARS)
    tests: list[Test] = Field(min_length=1, max_length=1024)
    files: dict[str, Annotated[str, Field(max_length=16_000_000)]] = Field(default_factory=dict, max_length=64)
    limits: Limits = Field(default_factory=Limits, description="Per run (each test; the compile step too).")
    stop_on_first_failure: bool = False

    _files = field_validator("files")(_check_files)
    _clean = model_validator(mode="before")(_clean_request)


class TestResult(Strict):
    """One test's verdict."""

    status: TestStatus
    passed: bool = False
    reason: str = ""
    exit_code: int | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    wall_ms: float = 0.0


class JudgeResult(Strict):
    """All tests' verdicts."""

    passed: int
    total: int
    fraction: float
    tests: list[TestResult]
    compile: RunResult | None = None
    insecure: bool = False


class JudgeBatchRequest(Strict):
    """Several judge jobs in one request (one HTTP round trip); they run concurrently across the pool."""

    jobs: list[JudgeRequest] = Field(min_length=1, max_length=MAX_BATCH_JOBS)


class JudgeBatchItem(Strict):
    """One job's result, or why this sandbox cannot judge it (what /v1/judge would answer with a 422)."""

    result: JudgeResult | None = None
    error: str | None = None


class JudgeBatchResult(Strict):
    """The jobs' outcomes, in request order."""

    results: list[JudgeBatchItem]


class SandboxSettings(Strict):
    """How `rlvr sandbox` runs."""

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)
    workers: int | None = Field(default=None, ge=1, le=512, description="Warm jailed workers; default 2x CPUs.")
    max_queue: int = Field(default=256, ge=0,
                           description="Jobs waiting for a worker before 503s; a batch is admitted whole.")
    runs_per_worker: int = Field(default=1000, ge=1, description="A worker is replaced after this many jobs.")
    disk_mb: int = Field(default=64, ge=1, description="Size of each worker's private work dir (tmpfs).")
    maxima: Limits = Field(
        default_factory=lambda: Limits(wall_s=60, cpu_s=60, memory_mb=4096, output_kb=16384, pids=256),
        description="The largest limits a request may ask for.",
    )
    insecure: bool = Field(default=False, description="Run without bwrap (no isolation!).")
    cgroups: bool = Field(default=True, description="Bound each worker's process tree with a cgroup where writable.")
    log_level: str = "warning"
