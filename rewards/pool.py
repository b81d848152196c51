"""A pool of worker processes for CPU-bound grading, with a hard time budget per call.

A call that runs past its budget gets its worker killed (SIGKILL) and replaced; no signals in
threads, so a hung sympy call can neither stall the service nor leak into the next sample. The
budget counts the worker's CPU time (capped at MAX_WALL_FACTOR budgets of wall time), so a busy
machine does not turn honest samples into timeouts.

Every call ends in exactly one `Outcome`: a value, a timeout, a fault of the sample (it killed its
worker twice, or ran out of memory), or an `error` (the machinery failed: the grader raised, the
sample could not be sent, a worker could not be started). Nothing else leaves `run`, so no failure
of the pool can pass for a verdict.

The service talks to each worker over a socket that only the event loop reads and writes (framed
like `multiprocessing.Connection`, which the worker keeps using, blocking). A blocking send on a
socket the loop had made non-blocking used to fail large samples with BlockingIOError.

Workers are forked from a forkserver that has the grader modules imported, so a replacement is
ready in milliseconds. A call still running after SLOW_AFTER_S is moved to the slow lane: its
worker yields the CPU (niceness 19) and, up to `max_slow` at once, a spare worker takes its place,
so slow samples do not hold up quick ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import math
import multiprocessing as mp
import os
import pickle
import resource
import signal
import socket
import struct
import sys
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any

import psutil

log = logging.getLogger("rlvr.pool")

DEFAULT_PRELOAD = ("rewards.graders.math", "rewards.graders.format")
SLOW_NICENESS = 19  # a call past SLOW_AFTER_S yields the CPU to quick ones until it ends or is killed
SLOW_AFTER_S = 0.05
SPARE_AFTER_S = 0.2  # a call running this long (wall time) gets a spare worker started in its place
MAX_WALL_FACTOR = 4  # the budget is CPU time; a starved call still ends by this many budgets of wall time
RESPAWN_BACKOFF_S = (0.05, 0.5, 2.0)

# Workers re-run a `python -m` main module that the forkserver already preloaded; runpy warns about that in
# every new worker, and the warning says nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*found in sys\.modules after import of package", category=RuntimeWarning)


@dataclass(frozen=True)
class Outcome:
    """How one call ended; exactly one of: a value, a timeout, a fault of the sample, an error."""

    value: Any = None
    timeout: bool = False
    fault: str | None = None  # the sample's doing (it killed its worker twice, ran out of memory): a real 0
    error: str | None = None  # the machinery failed: no verdict at all

    @property
    def crashed(self) -> str | None:
        """Why there is no value besides a timeout (the fault or the error), or None."""
        return self.fault if self.fault is not None else self.error


class WorkerDied(ConnectionError):
    """The worker's end of the socket closed before it replied."""


def _frame(payload: bytes) -> bytes:
    """multiprocessing.Connection's header for a message of this size."""
    size = len(payload)
    return struct.pack("!i", size) if size <= 0x7FFFFFFF else struct.pack("!iQ", -1, size)


def _unframe(buffer: bytearray) -> bytes | None:
    """The first whole message in `buffer` (removed from it), or None while it is incomplete."""
    if len(buffer) < 4:
        return None
    (size,), start = struct.unpack_from("!i", buffer), 4
    if size == -1:
        if len(buffer) < 12:
            return None
        (size,), start = struct.unpack_from("!Q", buffer, 4), 12
    if len(buffer) < start + size:
        return None
    body = bytes(buffer[start:start + size])
    del buffer[:start + size]
    return body


class _Channel(asyncio.Protocol):
    """The service's end of a worker's socket; the loop buffers writes, so no send ever blocks or fails half-way."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.on_lost: Callable[[], None] | None = None
        self._buffer = bytearray()
        self._reply: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def request(self, payload: bytes) -> asyncio.Future[bytes]:
        """Send one message; the future gets the reply, or WorkerDied."""
        self._reply = reply = asyncio.get_running_loop().create_future()
        reply.add_done_callback(lambda f: f.cancelled() or f.exception())  # a death nobody awaits is no warning
        if self.lost or self.transport is None:
            reply.set_exception(WorkerDied("the worker's socket is closed"))
        else:
            self.transport.write(_frame(payload) + payload)  # one write: one wake-up of the worker
        return reply

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        body = _unframe(self._buffer)
        if body is not None and self._reply is not None and not self._reply.done():
            self._reply.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(WorkerDied("the worker closed its socket"))
        if self.on_lost is not None:
            self.on_lost()

    def close(self) -> None:
        self.on_lost = None
        if self.transport is not None:
            self.transport.abort()


def _die_with_parent() -> None:
    """SIGKILL this worker when its parent (the forkserver, which ends with the service) goes away."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() == 1:
        os._exit(0)


def _worker_main(conn: Connection, memory_mb: int | None) -> None:
    _die_with_parent()
    gc.freeze()  # the preloaded graders' objects (sympy: ~100k) are never scanned: no 50+ ms collections mid-call
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply: tuple[str, Any] = ("value", fn(*args))
        except MemoryError:
            reply = ("fault", "out of memory")
        except Exception as exc:  # noqa: BLE001 - a grader bug must not kill the worker loop; it is an error
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result
            conn.send(("error", f"unsendable result: {type(exc).__name__}: {exc}"[:500]))


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return math.inf  # gone: no point waiting for it
    return times.user + times.system


def _renice(pid: int, niceness: int) -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except OSError:
        return False
    return True


class _Worker:
    """One worker process and the service's end of its socket."""

    def __init__(self, process: BaseProcess, channel: _Channel) -> None:
        self.process = process
        self.channel = channel
        self.busy = False
        self.slow = False  # reniced past SLOW_AFTER_S; `spared`: a spare worker was started in its place
        self.spared = False
        self.temporary = False  # started for one retry, retired after it

    @property
    def pid(self) -> int:
        pid = self.process.pid
        if pid is None:  # a worker is made from a started process, so this is a bug of ours
            raise RuntimeError("the worker's process was never started")
        return pid

    def exit_reason(self) -> str:
        """How the process ended ('killed by SIGKILL', 'exited with code 3'), for the reason a sample gets."""
        self.process.join(timeout=3)
        code = self.process.exitcode
        if code is None:
            return "closed its socket"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def kill(self) -> None:
        self.channel.close()
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()


class WorkerPool:
    """Runs picklable top-level functions in `size` worker processes, one call per worker at a time."""

    def __init__(self, size: int | None = None, memory_mb: int | None = 2048,
                 preload: Sequence[str] = DEFAULT_PRELOAD, max_slow: int | None = None) -> None:
        # one spare worker: a sample stuck for its whole budget does not halve the capacity of a 2-core box
        self.size = size or (os.cpu_count() or 1) + 1
        self.max_slow = self.size if max_slow is None else max_slow  # spares started for slow calls at once
        self.memory_mb = memory_mb
        # quick calls run at the service's own priority (a slow one yields once past SLOW_AFTER_S): a worker
        # niced below the event loop waited behind every busy process for its turn on a shared box
        self.niceness = os.getpriority(os.PRIO_PROCESS, 0)
        self._ctx = mp.get_context("forkserver")
        # every new worker re-runs the main module (`python -m rlvr`: typer and the rest, ~30 ms of CPU);
        # imported once in the forkserver, that is a few microseconds: a spare or a replacement is cheap
        main = getattr(sys.modules.get("__main__"), "__spec__", None)
        self._ctx.set_forkserver_preload([*preload, main.name if main is not None else "__main__"])
        self._idle: deque[_Worker] = deque()
        self._waiters: deque[asyncio.Future[_Worker]] = deque()  # first come, first served
        self._workers: set[_Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._spares = 0
        self._recent_losses: list[float] = []
        self._closed = False
        self.waiting = 0
        self.timeouts = 0
        self.crashes = 0  # workers that died under a call
        self.restarts = 0  # workers lost (died, killed at their budget, out of step) and replaced
        self.errors = 0  # calls that ended in a machinery error

    async def start(self) -> None:
        for worker in await asyncio.gather(*(self._spawn() for _ in range(self.size))):
            self._release(worker)

    def health(self) -> dict[str, Any]:
        """The pool as it is: live workers against the size, restarts, the slow lane, the queue."""
        live = sum(not w.channel.lost for w in self._workers if not (w.spared or w.temporary))
        return {"status": "ok" if live >= self.size else "degraded", "workers": self.size, "live": live,
                "busy": sum(w.busy for w in self._workers), "slow": sum(w.slow for w in self._workers),
                "restarts": self.restarts, "timeouts": self.timeouts, "crashes": self.crashes,
                "errors": self.errors, "queue_depth": self.waiting}

    async def _spawn(self) -> _Worker:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        child = Connection(theirs.detach())
        process = self._ctx.Process(target=_worker_main, args=(child, self.memory_mb), daemon=True)
        try:
            await loop.run_in_executor(None, process.start)  # talks to the forkserver: keep it off the loop
        except BaseException:
            ours.close()
            raise
        finally:
            child.close()
        _, channel = await loop.create_unix_connection(_Channel, sock=ours)
        worker = _Worker(process, channel)
        channel.on_lost = lambda: self._lost(worker)
        self._workers.add(worker)
        return worker

    def _lost(self, worker: _Worker) -> None:
        """A worker's socket closed: if it was idle, nobody else will notice, so replace it now."""
        if worker.busy:
            return  # the call in progress handles it
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        self._replace(worker)

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _replace(self, worker: _Worker) -> None:
        """Retire a pool worker and start one in its place: once, however many paths notice its loss."""
        if worker not in self._workers:
            return
        self._retire(worker)
        self.restarts += 1
        if not self._closed:
            self._background(self._replenish())

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker and forget it; its exit is collected off the loop."""
        self._workers.discard(worker)
        worker.kill()
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().run_in_executor(None, worker.process.join, 5)

    async def _replenish(self, lost: bool = True) -> None:
        """Start a worker for the pool (for a `lost` one, or a spare), retrying while the forkserver cannot;
        slower when workers keep dying."""
        now = asyncio.get_running_loop().time()
        self._recent_losses = [t for t in self._recent_losses if now - t < 10] + [now] * lost
        if lost and len(self._recent_losses) > 4 * self.size:
            await asyncio.sleep(1.0)  # workers dying at start-up must not become a fork loop
        for attempt in range(len(RESPAWN_BACKOFF_S) + 1):
            if self._closed:
                return
            try:
                self._release(await self._spawn())
                return
            except Exception as exc:  # noqa: BLE001 - logged; health() shows the pool short of workers
                log.error("cannot start a grading worker (attempt %d): %s", attempt + 1, exc)
                if attempt < len(RESPAWN_BACKOFF_S):
                    await asyncio.sleep(RESPAWN_BACKOFF_S[attempt])
        if not self._workers:  # nobody left to serve the queue: its calls end in an error, not a hang
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(RuntimeError("no grading worker could be started"))
            self._waiters.clear()

    def _release(self, worker: _Worker) -> None:
        """Hand a free worker to the longest waiter (asyncio.Queue lets newcomers barge in: p99 tails)."""
        if self._closed or worker.channel.lost:
            self._replace(worker)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self) -> _Worker:
        while self._idle and not self._waiters:
            worker = self._idle.popleft()
            if not worker.channel.lost:
                return worker
            self._replace(worker)
        if not self._workers and not self._tasks and not self._closed:
            self._background(self._replenish(lost=False))  # the last attempts failed: try again for this call
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # cancelled just after being handed a worker
            raise

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Outcome:
        """Call `fn(*args)` in a worker; past `timeout` seconds of its CPU the worker is killed.

        A worker that dies under the call is replaced and the call tried once more on the fresh
        worker; dying again is the sample's fault. Never raises but CancelledError.
        """
        try:
            payload = bytes(ForkingPickler.dumps((fn, args)))
        except Exception as exc:  # noqa: BLE001 - e.g. a reference too deep to pickle
            self.errors += 1
            return Outcome(error=f"the sample cannot be sent to a worker: {type(exc).__name__}: {exc}"[:500])
        try:
            self.waiting += 1
            try:
                worker = await self._acquire()
            finally:
                self.waiting -= 1
            first = await self._call(worker, payload, timeout)
            if not isinstance(first, WorkerDied):
                return first
            if self._closed:
                return Outcome(error="the grading pool is shutting down")
            log.warning("a grading worker died under a call (%s); trying it once more on a fresh worker", first)
            fresh = await self._spawn()
            fresh.temporary = True  # the dead worker's replacement is started by the pool as usual
            second = await self._call(fresh, payload, timeout)
            if isinstance(second, WorkerDied):
                return Outcome(fault=f"the sample killed its grading worker twice ({second})")
            return second
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, it is not a verdict
            self.errors += 1
            log.exception("grading pool failure")
            return Outcome(error=f"grading pool failure: {type(exc).__name__}: {exc}"[:500])

    async def _call(self, worker: _Worker, payload: bytes, timeout: float) -> Outcome | WorkerDied:
        """One call on `worker`, which it then gives back (or replaces); a death is returned, not raised."""
        worker.busy = True
        try:
            kind, value = pickle.loads(await self._reply(worker, worker.channel.request(payload), timeout))
        except TimeoutError:
            self.timeouts += 1
            self._finish(worker, keep=False)
            return Outcome(timeout=True)
        except WorkerDied:
            self.crashes += 1
            reason = await asyncio.get_running_loop().run_in_executor(None, worker.exit_reason)
            self._finish(worker, keep=False)
            return WorkerDied(f"worker {reason}")
        except BaseException:
            self._finish(worker, keep=False)  # cancelled, or a reply we cannot read: out of step with us
            raise
        self._finish(worker, keep=True)
        if kind == "value":
            return Outcome(value=value)
        if kind == "fault":
            return Outcome(fault=value)
        self.errors += 1
        return Outcome(error=f"grader failed: {value}")

    def _finish(self, worker: _Worker, keep: bool) -> None:
        """After a call: give the worker back, or retire it and start its replacement.

        A worker that a spare already replaced (slow lane), or a temporary one (a retry), just retires.
        """
        worker.busy = False
        if worker.spared:
            self._spares -= 1
        replaced = worker.spared or worker.temporary
        if keep and not replaced and (not worker.slow or _renice(worker.pid, self.niceness)):
            worker.slow = False  # (unprivileged, niceness cannot go back down: then it is replaced)
            self._release(worker)
            return
        if not replaced:
            self._replace(worker)
            return
        self._retire(worker)
        if not keep and worker.spared:
            self.restarts += 1  # lost (died, timed out), though its spare had already taken its place

    async def _reply(self, worker: _Worker, reply: asyncio.Future[bytes], timeout: float) -> bytes:
        """The reply within `timeout` seconds of the worker's CPU time (TimeoutError past it).

        Counting CPU rather than wall time keeps a busy machine from failing honest samples. A call
        still running after SLOW_AFTER_S yields the CPU; one still running after SPARE_AFTER_S gets a
        spare worker started in its place.
        """
        done, _ = await asyncio.wait({reply}, timeout=min(SLOW_AFTER_S, timeout))
        if done:
            return reply.result()
        worker.slow = _renice(worker.pid, SLOW_NICENESS)
        loop = asyncio.get_running_loop()
        started = loop.time() - SLOW_AFTER_S
        wall_deadline = started + timeout * MAX_WALL_FACTOR
        cpu_start = _cpu_seconds(worker.pid) - SLOW_AFTER_S  # at most SLOW_AFTER_S were spent before this
        try:
            while True:
                used = _cpu_seconds(worker.pid) - cpu_start
                wall_left = wall_deadline - loop.time()
                if used >= timeout or wall_left <= 0:
                    raise TimeoutError
                until_spare = started + SPARE_AFTER_S - loop.time()
                if until_spare <= 0:
                    self._spare_for(worker)
                    until_spare = math.inf
                done, _ = await asyncio.wait({reply}, timeout=min(timeout - used, wall_left, until_spare))
                if done:
                    return reply.result()
        finally:
            if not reply.done():
                reply.cancel()

    def _spare_for(self, worker: _Worker) -> None:
        """Start a spare in a slow call's place (up to `max_slow` at once), so new work does not queue behind it."""
        if worker.spared or worker.temporary or self._spares >= self.max_slow or self._closed:
            return
        worker.spared = True
        self._spares += 1
        self._background(self._replenish(lost=False))

    async def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], timeout: float) -> list[Outcome]:
        return list(await asyncio.gather(*(self.run(fn, *args, timeout=timeout) for args in items)))

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for waiter in self._waiters:
            waiter.cancel()
        workers = list(self._workers)
        for worker in workers:
            self._retire(worker)

        def join_all() -> None:
            for worker in workers:
                worker.process.join(timeout=5)

        await asyncio.get_running_loop().run_in_executor(None, join_all)
        self._idle.clear()
