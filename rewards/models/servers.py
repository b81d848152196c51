"""Which model server answers for a model: one the operator runs (`model_servers: {model: url}`), or a
private `rlvr serve-model` this process starts on loopback the first time a grader needs it.

A private server is started the way `rlvr serve` starts its private sandbox (`sandbox.local`), one per
distinct need (model, how it is read, how it batches), and stopped with the service. One that dies is
forgotten when a grader finds it unreachable, so the next call starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpx

from rewards.errors import ModelServerError
from rewards.models.client import ModelServerClient
from rewards.models.loader import Head, Tokenizers
from sandbox.local import ServiceStartError, child_service, free_port

if TYPE_CHECKING:  # graders import this module: at run time, the context is only passed through
    from rewards.graders.base import GraderContext

T = TypeVar("T")

PRIVATE_MAX_LENGTH = 131072  # a private server keeps what each request asks for (the specs' own limit)
PRIVATE_MAX_NEW_TOKENS = 32768


@dataclass(frozen=True)
class ServerNeed:
    """What a grader needs served: a model read as `head`, batched so; the PRM reading for PRMs."""

    model: str
    head: Head
    batch_size: int = 32
    batch_wait_ms: float = 5.0
    step_tag: str | None = None
    positive_token: str = "+"
    negative_token: str = "-"

    def args(self) -> list[str]:
        """`rlvr serve-model` arguments serving this need; values from a spec (a tag such as "--port") are
        attached to their options and a model path never starts with "-", so none reads as an option."""
        model = f"./{self.model}" if self.model.startswith("-") else self.model
        args = ["serve-model", model, f"--head={self.head}", f"--batch-size={self.batch_size}",
                f"--batch-wait-ms={self.batch_wait_ms}", f"--max-length={PRIVATE_MAX_LENGTH}",
                f"--max-new-tokens={PRIVATE_MAX_NEW_TOKENS}"]
        if self.step_tag is not None:
            args.append(f"--step-tag={self.step_tag}")
        if self.head == "causal":
            args += [f"--positive-token={self.positive_token}", f"--negative-token={self.negative_token}"]
        return args


def start_failure(exc: ServiceStartError) -> str:
    """The reason a private server did not start: its last output line (serve-model ends with `error: ...`)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if line.startswith("error:")), lines[-1] if lines else "")
    return f"the model server did not start: {reason.removeprefix('error: ')}"[:500]


class ModelServers:
    """The model servers of one service: configured URLs, and private servers started on first use."""

    def __init__(self, urls: Mapping[str, str], limit: int = 8, start_wait_s: float = 180) -> None:
        """`limit`: most private servers at once (each holds a model in memory, and a spec sent in a request
        could otherwise ask for a new one per batch size or tag it names)."""
        self.urls = dict(urls)
        self.limit = limit
        self.start_wait_s = start_wait_s
        # starts and stops run on one long-lived thread: a child dies with the thread that started it
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model-servers")
        self._private: dict[ServerNeed, asyncio.Future[str]] = {}
        self._stops: dict[ServerNeed, contextlib.ExitStack] = {}
        self._clients: dict[str, ModelServerClient] = {}

    def _start(self, need: ServerNeed) -> str:
        stack = contextlib.ExitStack()
        try:
            url = stack.enter_context(child_service(need.args(), free_port(), module="rewards",
                                                    wait_s=self.start_wait_s))
        except ServiceStartError as exc:
            raise ModelServerError(start_failure(exc)) from exc
        self._stops[need] = stack
        return url

    async def url(self, need: ServerNeed) -> str:
        """The base URL serving `need`; a private server is started (once, however many ask) if none is set."""
        if need.model in self.urls:
            return self.urls[need.model].rstrip("/")
        started = self._private.get(need)
        if started is None:
            if len(self._private) >= self.limit:
                raise ModelServerError(f"{len(self._private)} private model servers run already (the limit, "
                                       "private_model_servers); name a model server for this model in "
                                       "model_servers, or use the settings of a grader already served")
            loop = asyncio.get_running_loop()
            started = self._private[need] = asyncio.ensure_future(loop.run_in_executor(self._thread, self._start, need))
        try:
            return await asyncio.shield(started)
        except Exception:
            if self._private.get(need) is started:
                del self._private[need]  # a failed start is retried by the next call, not remembered
            raise

    async def client(self, need: ServerNeed) -> ModelServerClient:
        """The pooled client of the server for `need`."""
        url = await self.url(need)
        if url not in self._clients:
            self._clients[url] = ModelServerClient(url, need.model)
        return self._clients[url]

    async def call(self, need: ServerNeed, fn: Callable[[ModelServerClient], Awaitable[T]]) -> T:
        """`fn(client)` for `need`'s server; after a failure, a private server found dead is replaced next time."""
        client = await self.client(need)
        try:
            return await fn(client)
        except Exception:
            await self.recover(need)
            raise

    async def recover(self, need: ServerNeed) -> None:
        """After a failed call: a private server that does not answer its health check is stopped and
        forgotten, so the next call starts a fresh one. Servers the operator runs are left alone."""
        started = self._private.get(need)
        if started is None or not started.done() or started.cancelled() or started.exception() is not None:
            return
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(timeout=2) as http:
                if (await http.get(started.result() + "/healthz")).status_code == 200:
                    return
        if self._private.get(need) is not started:
            return  # another caller recovered it meanwhile
        del self._private[need]
        if (client := self._clients.pop(started.result(), None)) is not None:
            await client.aclose()
        if (stack := self._stops.pop(need, None)) is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, stack.close)

    async def aclose(self) -> None:
        """Close the clients and stop every private server."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        stacks = list(self._stops.values())
        self._stops.clear()
        self._private.clear()
        await asyncio.get_running_loop().run_in_executor(self._thread, _close_all, stacks)
        self._thread.shutdown(wait=False)


def _close_all(stacks: list[contextlib.ExitStack]) -> None:
    for stack in stacks:
        stack.close()


def model_servers(context: GraderContext) -> ModelServers:
    """The service's one `ModelServers`, from its settings' `model_servers`."""
    settings = context.settings
    return context.resources.shared(ModelServers, "model_servers", lambda: ModelServers(
        settings.model_servers, settings.private_model_servers))


def tokenizers(context: GraderContext) -> Tokenizers:
    """The service's tokenizers, which graders render model inputs with."""
    return context.resources.shared(Tokenizers, "tokenizers", Tokenizers)
