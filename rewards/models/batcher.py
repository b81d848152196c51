"""Dynamic batching: gather concurrent requests for a few ms (or until a batch is full), run them as one call.

The model server batches forward passes with it (a blocking call on the model thread: `on_thread`); the
reward service batches the HTTP calls its graders make to a model server (an async call), so concurrent
graders share one request instead of each paying its own round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class DynamicBatcher(Generic[In, Out]):
    """Feeds items submitted from many coroutines to `await run(batch) -> results` in batches of <= `max_batch`.

    Up to `concurrency` batches run at a time (one for a forward pass; several for HTTP calls, so the
    server behind them sees concurrent requests to batch in its turn); while they run, new items queue
    up and form the next batch. `max_batch=1` turns batching off: one call per item.
    """

    def __init__(
        self, run: Callable[[list[In]], Awaitable[Sequence[Out]]], max_batch: int = 32, wait_ms: float = 5.0,
        concurrency: int = 1,
    ) -> None:
        self.run = run
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches run, for metrics and tests

    @classmethod
    def on_thread(cls, run: Callable[[list[In]], Sequence[Out]], executor: Executor, max_batch: int = 32,
                  wait_ms: float = 5.0) -> DynamicBatcher[In, Out]:
        """A batcher whose `run` is blocking (a forward pass), run on `executor`."""

        async def in_executor(items: list[In]) -> Sequence[Out]:
            return await asyncio.get_running_loop().run_in_executor(executor, run, items)

        return cls(in_executor, max_batch, wait_ms)

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
        while True:
            await self._slots.acquire()  # a free slot first: items keep gathering while every slot is busy
            batch = await self._collect()
            if not batch:
                self._slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            results = await self.run([item for item, _ in batch])
            self.batches += 1
        except Exception as exc:  # noqa: BLE001 - handed to every caller of this batch
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        finally:
            self._slots.release()
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    async def aclose(self) -> None:
        for task in [self._task, *self._running]:
            if task is not None:
                task.cancel()
