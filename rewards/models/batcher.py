"""Dynamic batching: gather concurrent requests for a few ms (or until a batch is full), run them as one call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class DynamicBatcher(Generic[In, Out]):
    """Feeds items submitted from many coroutines to `run(batch) -> results` in batches of <= `max_batch`.

    `run` is blocking (a forward pass) and runs on `executor`. While one batch runs, new items queue
    up and form the next batch. `max_batch=1` turns batching off: one call per item.
    """

    def __init__(
        self, run: Callable[[list[In]], Sequence[Out]], executor: Executor, max_batch: int = 32, wait_ms: float = 5.0
    ) -> None:
        self.run = run
        self.executor = executor
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # forward passes run, for metrics and tests

    async def submit(self, items: Sequence[In]) -> list[Out]:
        """Results for `items`, in order; a failed batch raises its exception in every waiting caller."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._loop())
        futures = []
        for item in items:
            future: asyncio.Future[Out] = loop.create_future()
            self._queue.put_nowait((item, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    async def _collect(self) -> list[tuple[In, asyncio.Future[Out]]]:
        batch = [await self._queue.get()]
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while len(batch) < self.max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return [(item, fut) for item, fut in batch if not fut.cancelled()]

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self.executor, self.run, [item for item, _ in batch])
                self.batches += 1
            except Exception as exc:  # noqa: BLE001 - handed to every caller of this batch
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
