"""A pool of warm jailed workers, leased one job at a time, with a bounded queue and recycling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import struct
from collections.abc import AsyncIterator
from typing import Any

from sandbox.cgroups import Cgroups, WorkerCgroup
from sandbox.errors import Overloaded, WorkerDied
from sandbox.jail import Jail

BACKSTOP_S = 5.0  # a worker that overruns a run's wall limit by this much is broken: kill it
CGROUP_HEADROOM_MB = 64  # the worker itself, in its cgroup beside the run
START_TIMEOUT_S = 30.0


class Worker:
    """One jailed worker process and its framed JSON pipe."""

    def __init__(self, proc: asyncio.subprocess.Process, workdir: str | None, cgroup: WorkerCgroup | None = None,
                 disk_mb: int = 0) -> None:
        self.proc = proc
        self.workdir = workdir
        self.cgroup = cgroup
        self.disk_mb = disk_mb
        self.jobs = 0
        self.retire = False
        self.dirty = False  # the work dir holds files: empty it before the next job

    @classmethod
    async def start(cls, jail: Jail, cgroup: WorkerCgroup | None = None) -> Worker:
        """Spawn a worker and wait for it to say it is ready; then (before any run) put it in `cgroup`."""
        passed: list[int] = []  # fds the worker inherits, closed here once it has them
        try:
            cgroup_fd = cgroup.procs_fd() if cgroup is not None else None
            if cgroup_fd is not None:
                passed.append(cgroup_fd)
            argv, env, workdir, seccomp_fd = jail.worker_command(cgroup_fd)
            if seccomp_fd is not None:
                passed.append(seccomp_fd)
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, env=env, start_new_session=True,
                pass_fds=passed,
            )
        except BaseException:
            if cgroup is not None:
                cgroup.remove()
            raise
        finally:
            for fd in passed:
                os.close(fd)
        worker = cls(proc, workdir, cgroup, jail.disk_mb)
        try:
            hello = await worker._read(START_TIMEOUT_S)
            if not hello.get("ready"):
                raise WorkerDied(f"worker did not start: {hello}")
            if cgroup is not None:
                cgroup.attach(proc.pid)
        except (WorkerDied, OSError):
            await worker.kill()
            raise
        return worker

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                (size,) = struct.unpack(">I", await self.proc.stdout.readexactly(4))
                reply: dict[str, Any] = json.loads(await self.proc.stdout.readexactly(size))
                return reply
        except (TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.retire = True
            raise WorkerDied(f"sandbox worker stopped answering ({type(exc).__name__})") from exc

    async def call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its reply; past `timeout` the worker is declared dead."""
        assert self.proc.stdin is not None
        data = json.dumps(message).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            await self.proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            self.retire = True
            raise WorkerDied(f"sandbox worker is gone ({type(exc).__name__})") from exc
        reply = await self._read(timeout)
        if "worker_error" in reply:
            self.retire = True
            raise WorkerDied(reply["worker_error"])
        return reply

    async def run(self, message: dict[str, Any]) -> dict[str, Any]:
        """One run; in a cgroup, the run's whole process tree shares its memory and process limits."""
        limits = message["limits"]
        if self.cgroup is not None:
            memory_mb = limits["memory_mb"] + self.disk_mb + CGROUP_HEADROOM_MB  # tmpfs files count as memory
            try:
                self.cgroup.limit(memory_mb * 1024 * 1024, limits["pids"] + 3)  # v1: + the worker and bwrap
            except OSError as exc:
                self.retire = True
                raise WorkerDied(f"cannot set the worker's cgroup limits: {exc}") from exc
        reply = await self.call({"op": "run", **message}, limits["wall_s"] + BACKSTOP_S)
        if self.cgroup is not None and self.cgroup.new_oom_kills():
            reply["oom_killed"] = True
        self.dirty = self.dirty or reply.get("dirty", True)
        return reply

    async def reset(self, restore: bool = False) -> bool:
        """Empty the work dir (with `restore`, then put the stashed files back); False when it could not be
        emptied."""
        clean = bool((await self.call({"op": "reset", "restore": restore}, BACKSTOP_S))["clean"])
        self.dirty = not clean
        return clean

    async def stash(self, names: list[str]) -> None:
        """Keep these files of the work dir (a compiled program) for `reset(restore=True)` to put back."""
        await self.call({"op": "stash", "names": names}, BACKSTOP_S)

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.proc.wait(), 10)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.cgroup is not None:
            with contextlib.suppress(OSError):  # a replacement must go on regardless
                await asyncio.to_thread(self.cgroup.remove)


class WorkerPool:
    """`size` warm workers; `lease()` waits for one, or raises Overloaded when `max_queue` already wait."""

    def __init__(self, jail: Jail, size: int, max_queue: int, jobs_per_worker: int,
                 cgroups: Cgroups | None = None) -> None:
        self.jail = jail
        self.cgroups = cgroups
        self._started = 0
        self.size = size
        self.max_queue = max_queue
        self.jobs_per_worker = jobs_per_worker
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._all: set[Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.waiting = 0
        self.busy = 0
        self.recycled = 0
        self.jobs = 0  # leases served

    def _cgroup(self) -> WorkerCgroup | None:
        self._started += 1
        return None if self.cgroups is None else self.cgroups.create(f"worker-{self._started}")

    async def start(self) -> None:
        workers = await asyncio.gather(*(Worker.start(self.jail, self._cgroup()) for _ in range(self.size)))
        for worker in workers:
            self._all.add(worker)
            self._idle.put_nowait(worker)

    async def _replace(self, worker: Worker) -> None:
        self._all.discard(worker)
        self.recycled += 1
        await worker.kill()
        while True:
            try:
                fresh = await Worker.start(self.jail, self._cgroup())
                break
            except (WorkerDied, OSError):
                await asyncio.sleep(0.5)  # e.g. out of processes for a moment: try again
        self._all.add(fresh)
        self._idle.put_nowait(fresh)

    def admit(self, jobs: int) -> None:
        """Raise Overloaded unless `jobs` more can wait for a worker without passing `max_queue`; a batch
        larger than the queue is still taken when a worker is idle and nothing waits (else it never could be)."""
        idle = self._idle.qsize()
        if self.waiting + jobs > self.max_queue + idle and not (idle and not self.waiting):
            raise Overloaded(f"all {self.size} sandbox workers are busy and {self.waiting} jobs wait")

    @contextlib.asynccontextmanager
    async def lease(self, admitted: bool = False) -> AsyncIterator[Worker]:
        """A worker for one job (checked against the queue bound unless `admitted`); afterwards its work dir
        is emptied, or it is replaced."""
        if not admitted:
            self.admit(1)
        self.waiting += 1
        try:
            while (worker := await self._idle.get()).proc.returncode is not None:
                self._replace_later(worker)  # died while idle: never hand it a job
        finally:
            self.waiting -= 1
        self.busy += 1
        try:
            yield worker
        except BaseException:
            worker.retire = True
            raise
        finally:
            self.busy -= 1
            self.jobs += 1
            worker.jobs += 1
            if not worker.retire and worker.jobs < self.jobs_per_worker and worker.dirty:
                try:
                    worker.retire = not await worker.reset()
                except WorkerDied:
                    worker.retire = True
            if worker.retire or worker.jobs >= self.jobs_per_worker:
                self._replace_later(worker)
            else:
                self._idle.put_nowait(worker)

    def _replace_later(self, worker: Worker) -> None:
        task = asyncio.get_running_loop().create_task(self._replace(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(w.kill() for w in list(self._all)), return_exceptions=True)
        self._all.clear()
