"""The sandbox's HTTP API (FastAPI): /v1/run, /v1/judge, /v1/judge/batch, /v1/languages, /healthz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request

from sandbox import httpkit
from sandbox.engine import Sandbox
from sandbox.errors import BadRequest, Overloaded
from sandbox.httpkit import SafeJSONResponse, error_responses
from sandbox.jail import Jail
from sandbox.models import (
    JudgeBatchRequest,
    JudgeBatchResult,
    JudgeRequest,
    JudgeResult,
    RunRequest,
    RunResult,
    SandboxSettings,
)

INSECURE_WARNING = "this sandbox runs code WITHOUT isolation (--insecure-no-isolation)"


def create_app(settings: SandboxSettings) -> FastAPI:
    """The app; its lifespan starts and stops the warm pool."""
    sandbox = Sandbox(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.close()

    app = FastAPI(title="rlvr sandbox", lifespan=lifespan, default_response_class=SafeJSONResponse)
    app.state.sandbox = sandbox
    httpkit.install(app)
    busy = error_responses(503)

    if sandbox.insecure:
        @app.middleware("http")
        async def flag_insecure(request: Request, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers["X-Sandbox-Insecure"] = INSECURE_WARNING
            return response

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> SafeJSONResponse:
        return SafeJSONResponse({"detail": [{"type": "bad_request", "loc": ["body"], "msg": str(exc)}]},
                                status_code=422)

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> SafeJSONResponse:
        return SafeJSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})

    @app.post("/v1/run", responses=busy)
    async def run(req: RunRequest) -> RunResult:
        """Run one program with stdin and limits."""
        return await sandbox.run(req)

    @app.post("/v1/judge", responses=busy)
    async def judge(req: JudgeRequest) -> JudgeResult:
        """Run a solution against io, script and call tests."""
        return await sandbox.judge(req)

    @app.post("/v1/judge/batch", responses=busy)
    async def judge_batch(req: JudgeBatchRequest) -> JudgeBatchResult:
        """Several judge jobs in one round trip, run concurrently; a job this sandbox cannot serve gets an
        `error` instead of a result, and a queue too full for all of them is a 503."""
        return await sandbox.judge_batch(req)

    @app.get("/v1/languages")
    async def languages() -> dict[str, Any]:
        return {"languages": [lang.public() for lang in sandbox.languages.values()]}

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        pool = sandbox.pool
        body: dict[str, Any] = {
            "status": "ok", "isolation": "none" if sandbox.insecure else "bwrap", "insecure": sandbox.insecure,
            "workers": pool.size, "busy": pool.busy, "waiting": pool.waiting, "jobs": pool.jobs,
            "recycled": pool.recycled, "tree_limits": sandbox.tree_limits,
        }
        if sandbox.insecure:
            body["warning"] = INSECURE_WARNING
        return body

    return app


def serve(settings: SandboxSettings) -> None:
    """Run the sandbox service in the foreground; refuse to start without isolation unless told to."""
    Jail(isolated=not settings.insecure, disk_mb=settings.disk_mb).probe()
    httpkit.serve(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                  timeout_graceful_shutdown=5)
