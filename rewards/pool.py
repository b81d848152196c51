"""A pool of worker processes for CPU-bound grading, with a hard time budget per call.

A call that runs past its budget gets its worker killed (SIGKILL) and replaced; no signals in
threads, so a hung sympy call can neither stall the service nor leak into the next sample. The
budget counts the worker's CPU time (capped at MAX_WALL_FACTOR budgets of wall time), so a busy
machine does not turn honest samples into timeouts.
Workers are forked from a forkserver that has the grader modules imported, so a replacement is
ready in milliseconds.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import resource
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psutil

DEFAULT_PRELOAD = ("rewards.graders.math", "rewards.graders.format")
WORKER_NICENESS = 5  # the event loop (HTTP, dispatch) wins CPU over grading when the box is busy
SLOW_NICENESS = 19  # a call past SLOW_AFTER_S yields the CPU to quick ones until it ends or is killed
SLOW_AFTER_S = 0.05
MAX_WALL_FACTOR = 4  # the budget is CPU time; a starved call still ends by this many budgets of wall time


@dataclass(frozen=True)
class Outcome:
    """What came back from a worker: a value, or why there is none."""

    value: Any = None
    timeout: bool = False
    crashed: str | None = None  # the worker died or raised: its reason


def _worker_main(conn: Connection, memory_mb: int | None) -> None:
    os.nice(WORKER_NICENESS)  # a worker busy with a pathological sample must not starve the event loop
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply = (True, fn(*args))
        except MemoryError:
            reply = (False, "out of memory")
        except RecursionError:
            reply = (False, "recursion too deep")
        except Exception as exc:  # noqa: BLE001 - a grader bug must not kill the worker loop
            reply = (False, f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result
            conn.send((False, f"unsendable result: {exc}"[:500]))


def _cpu_seconds(worker: _Worker) -> float:
    try:
        times = psutil.Process(worker.process.pid).cpu_times()
    except psutil.Error:
        return math.inf  # gone: no point waiting for it
    return times.user + times.system


async def _within_cpu_budget(worker: _Worker, readable: asyncio.Future, budget: float) -> None:
    """Wait for `readable` while the worker has used under `budget` CPU seconds on this call."""
    loop = asyncio.get_running_loop()
    wall_deadline = loop.time() - SLOW_AFTER_S + budget * MAX_WALL_FACTOR
    cpu_start = _cpu_seconds(worker) - SLOW_AFTER_S  # at most SLOW_AFTER_S were spent before this
    while True:
        cpu_left = budget - (_cpu_seconds(worker) - cpu_start)
        wall_left = wall_deadline - loop.time()
        if cpu_left <= 0 or wall_left <= 0:
            raise TimeoutError
        done, _ = await asyncio.wait({readable}, timeout=min(cpu_left, wall_left))
        if done:
            return


def _renice(worker: _Worker, niceness: int) -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, worker.process.pid, niceness)
    except OSError:
        return False
    return True


class _Worker:
    def __init__(self, ctx: Any, memory_mb: int | None) -> None:
        self.deprioritized = False
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, memory_mb), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """Runs picklable top-level functions in `size` worker processes, one call per worker at a time."""

    def __init__(
        self, size: int | None = None, memory_mb: int | None = 2048, preload: Sequence[str] = DEFAULT_PRELOAD
    ) -> None:
        # one spare worker: a sample stuck for its whole budget does not halve the capacity of a 2-core box
        self.size = size or (os.cpu_count() or 1) + 1
        self.memory_mb = memory_mb
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(preload))
        self._idle: deque[_Worker] = deque()
        self._waiters: deque[asyncio.Future[_Worker]] = deque()  # first come, first served
        self._workers: set[_Worker] = set()
        self.waiting = 0
        self.timeouts = 0
        self.crashes = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        workers = await asyncio.gather(*(loop.run_in_executor(None, self._spawn) for _ in range(self.size)))
        for worker in workers:
            self._release(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.memory_mb)
        self._workers.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.kill()
        self._release(self._spawn())

    def _release(self, worker: _Worker) -> None:
        """Hand a free worker to the longest waiter (asyncio.Queue lets newcomers barge in: p99 tails)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self) -> _Worker:
        if self._idle and not self._waiters:
            return self._idle.popleft()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # cancelled just after being handed a worker
            raise

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Outcome:
        """Call `fn(*args)` in a worker; past `timeout` seconds the worker is killed."""
        self.waiting += 1
        try:
            worker = await self._acquire()
        finally:
            self.waiting -= 1
        try:
            worker.conn.send((fn, args))
            ok, value = await self._reply(worker, timeout)
        except TimeoutError:
            self.timeouts += 1
            self._replace(worker)
            return Outcome(timeout=True)
        except (EOFError, OSError) as exc:
            self.crashes += 1
            self._replace(worker)
            return Outcome(crashed=f"worker died: {type(exc).__name__}")
        except asyncio.CancelledError:
            self._replace(worker)  # the reply may still come: this worker is no longer in step
            raise
        if worker.deprioritized and not _renice(worker, WORKER_NICENESS):
            self._replace(worker)  # unprivileged: niceness cannot go back down, so start afresh
        else:
            worker.deprioritized = False
            self._release(worker)
        if not ok:
            self.crashes += 1
            return Outcome(crashed=value)
        return Outcome(value=value)

    @staticmethod
    async def _reply(worker: _Worker, timeout: float) -> tuple[bool, Any]:
        """The worker's reply within `timeout` seconds of its CPU time (TimeoutError past it).

        Counting CPU rather than wall time keeps a busy machine from failing honest samples; a
        call still running after SLOW_AFTER_S yields the CPU to quicker ones.
        """
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = worker.conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            done, _ = await asyncio.wait({readable}, timeout=min(SLOW_AFTER_S, timeout))
            if not done:
                worker.deprioritized = _renice(worker, SLOW_NICENESS)
                await _within_cpu_budget(worker, readable, timeout)
        finally:
            loop.remove_reader(fd)
        return worker.conn.recv()

    async def map(self, fn: Callable[..., Any], items: Sequence[tuple], timeout: float) -> list[Outcome]:
        return list(await asyncio.gather(*(self.run(fn, *args, timeout=timeout) for args in items)))

    async def close(self) -> None:
        for worker in list(self._workers):
            worker.kill()
        self._workers.clear()
