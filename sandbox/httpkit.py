"""What both HTTP services (the reward service and the sandbox) share: safe JSON in and out, the shape of
error bodies, and a stop that answers unfinished requests instead of dropping them.

In: request data gets lone surrogates replaced (JSON may carry "\\ud800"; UTF-8 cannot) and is
refused past MAX_DEPTH levels of nesting (deeper data fails pickling and recursion later, as a 500 or an
`error`). Out: every response renders, whatever a grader put in it, and every error body has the
shape the OpenAPI schema promises: 422s `{"detail": [{"type", "loc", "msg"}]}`, others `{"detail": str}`.
Stop: on SIGTERM, requests still in progress are answered 503 with Retry-After at once (their work is
cancelled), so the server, its workers and its sandbox stop within moments instead of after a grace
period that ends in generic 500s.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import fastapi
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from sandbox.models import clean_text


def _renderable(node: Any) -> Any:
    """Anything JSON cannot carry as is made printable: non-finite numbers as strings, lone surrogates replaced."""
    if isinstance(node, str):
        return clean_text(node)
    if isinstance(node, float) and not math.isfinite(node):
        return str(node)
    if isinstance(node, dict):
        return {str(_renderable(k)): _renderable(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_renderable(v) for v in node]
    return node


class SafeJSONResponse(JSONResponse):
    """A JSON response that always renders (a NaN or a lone surrogate in `details` must not turn into a 500)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except ValueError:  # non-finite floats, UnicodeEncodeError
            return super().render(_renderable(content))


class Message(BaseModel):
    """The body of every error but a 422."""

    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses whose body is a Message."""
    return {status: {"model": Message, "description": "Error"} for status in statuses}


def unprocessable(msg: str, loc: Sequence[str | int] = ("body",)) -> HTTPException:
    """A 422 whose body matches FastAPI's HTTPValidationError schema."""
    return fastapi.HTTPException(422, [{"type": "value_error", "loc": list(loc), "msg": msg}])


def validation_errors(errors: Sequence[Any], prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """pydantic's errors in the schema's shape, without the input they echo (it may be huge or unrenderable)."""
    return [{"type": str(e.get("type", "value_error")),
             "loc": [*prefix, *(p if isinstance(p, int) else clean_text(str(p)) for p in e.get("loc", ()))],
             "msg": clean_text(str(e.get("msg", "")))} for e in errors]


async def on_validation_error(request: Request, exc: RequestValidationError) -> SafeJSONResponse:
    """422 for a request that does not validate, in the schema's shape."""
    errors = validation_errors(exc.errors())
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and "json" not in content_type:
        errors.insert(0, {"type": "content_type", "loc": ["header", "content-type"], "msg": (
            f"send the body as JSON with 'Content-Type: application/json', not {clean_text(content_type)!r}")})
    return SafeJSONResponse({"detail": errors}, status_code=422)


async def on_http_error(request: Request, exc: HTTPException) -> SafeJSONResponse:
    """An HTTPException's body; a 422 always carries a list of errors, and a body FastAPI cannot decode (its
    400) is a 422 like any other malformed body."""
    status = exc.status_code
    detail: Any = exc.detail  # FastAPI's HTTPException carries any JSON here
    if status == 400:
        status, detail = 422, [{"type": "json_invalid", "loc": ["body"], "msg": f"malformed body: {detail}"}]
    elif status == 422 and not isinstance(detail, list):
        detail = [{"type": "value_error", "loc": ["body"], "msg": str(detail)}]
    return SafeJSONResponse({"detail": detail}, status_code=status, headers=exc.headers)


def install(app: Any) -> None:
    """Register the error handlers on a FastAPI app."""
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)



RETRY_AFTER_S = 2


class Drain:
    """ASGI middleware: once `stop()` is called, requests in progress whose answer has not started get a 503
    with Retry-After (their work is cancelled), and so does every new request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.stopping = False
        self._in_flight: set[asyncio.Task[Any]] = set()

    def stop(self) -> None:
        """Call from the event loop's thread (a signal handler is): cancels unfinished requests."""
        self.stopping = True
        for task in self._in_flight:
            task.get_loop().call_soon_threadsafe(task.cancel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.stopping:
            return await self._unavailable(scope, receive, send)
        started = False

        async def tracked(message: ASGIMessage) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            if not self.stopping or started:
                raise
            task.uncancel()
            await self._unavailable(scope, receive, send)
        finally:
            self._in_flight.discard(task)

    @staticmethod
    async def _unavailable(scope: Scope, receive: Receive, send: Send) -> None:
        response = SafeJSONResponse({"detail": "the service is shutting down; retry (another replica, or this "
                                               "one once it is back)"}, status_code=503,
                                    headers={"Retry-After": str(RETRY_AFTER_S)})
        await response(scope, receive, send)


def serve(app: ASGIApp, **config: Any) -> None:
    """Run `app` with uvicorn in the foreground; SIGINT/SIGTERM answer unfinished requests 503, then stop it."""
    import uvicorn

    drain = Drain(app)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            drain.stop()
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(drain, **config)).run()
