"""The FastAPI application: lifespan of the service, auth, body limit, request metrics, error shape."""

from __future__ import annotations

import gc
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rewards import playground
from rewards.api import router
from rewards.metrics import Metrics
from rewards.service import RewardService
from rewards.settings import Settings
from sandbox import httpkit
from sandbox.httpkit import SafeJSONResponse

OPEN_PATHS = {"/healthz", *playground.PATHS}  # the playground's files hold no data; its fetches need the key


class BodyLimit:
    """Answers 413 for bodies over `limit` bytes: by Content-Length, or by reading a chunked body first."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                return await self._reject(scope, receive, send)
            return await self.app(scope, receive, send)
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message]), send)
            chunks.append(message)
            seen += len(message.get("body", b""))
            if seen > self.limit:
                return await self._reject(scope, receive, send)
            if not message.get("more_body"):
                break
        await self.app(scope, _replay(chunks, receive), send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"request body over the limit of {self.limit} bytes"
        await SafeJSONResponse({"detail": detail}, status_code=413)(scope, receive, send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive


class AuthAndMetrics:
    """Checks the bearer token (every route but OPEN_PATHS) and counts requests and their latency."""

    def __init__(self, app: ASGIApp, api_key: str | None, metrics: Metrics, known_paths: set[str]) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode() if api_key else None
        self.metrics = metrics
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"] if scope["path"] in self.known_paths else "other"
        start = time.perf_counter()
        status = "500"

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            if self.expected is not None and path not in OPEN_PATHS:
                given = dict(scope["headers"]).get(b"authorization", b"")
                if not secrets.compare_digest(given, self.expected):
                    response = SafeJSONResponse({"detail": "missing or wrong bearer token"}, status_code=401,
                                            headers={"WWW-Authenticate": "Bearer"})
                    return await response(scope, receive, send_and_record)
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.requests.labels(path, status).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    service = RewardService(settings)
    metrics = Metrics(service.pool, service.cache)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        gc.freeze()  # what start-up imported (FastAPI, pydantic, sympy...) is never scanned: no 50+ ms pauses
        try:
            yield
        finally:
            await service.close()

    app = FastAPI(title="rlvr reward service", version="0.1.0", lifespan=lifespan,
                  default_response_class=SafeJSONResponse)
    app.state.service = service
    app.state.metrics = metrics
    app.include_router(router)
    app.include_router(playground.router)
    httpkit.install(app)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AuthAndMetrics, api_key=settings.api_key, metrics=metrics,
                       known_paths={route.path for route in router.routes} | playground.PATHS)  # type: ignore[attr-defined]
    return app
