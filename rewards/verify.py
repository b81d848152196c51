"""`verify_math(reference, completion)`: the math grader in one call, in this process, without a server.

The grader's pure function runs as it does in the service: in a worker process of a grading pool, under the
same per-sample budget (CPU time, the worker killed past it), never with signals in threads, so a sympy call
that hangs cannot hang the caller. The pool (one worker) and the event loop thread that drives it start on
the first call (about a second: the worker imports sympy) and last until the interpreter exits; later calls
take milliseconds. As with any code that starts processes, a script calls it under
`if __name__ == "__main__":`.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from rewards.types import Sample, Score

if TYPE_CHECKING:
    from rewards.graders.math import MathSpec
    from rewards.service import RewardService

T = TypeVar("T")


class _Local:
    """A reward service with a one-worker pool, run by an event loop on a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rlvr-verify", daemon=True)
        self.thread.start()
        self.service = self.run(self._open())

    @staticmethod
    async def _open() -> RewardService:
        from rewards.service import RewardService
        from rewards.settings import Settings

        service = RewardService(Settings(workers=1))
        await service.start()
        return service

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def stop(self) -> None:
        """Stop the loop, so the pool does not replace the worker that multiprocessing ends at exit."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


_local: _Local | None = None
_lock = threading.Lock()


def _service() -> _Local:
    global _local
    with _lock:
        if _local is None:
            _local = _Local()
            # registered after multiprocessing's own exit hook, so it runs first; that hook then ends the worker
            atexit.register(_local.stop)
        return _local


def verify_math(reference: str | int | float, completion: str, *, spec: MathSpec | None = None) -> Score:
    """Whether `completion`'s final answer equals `reference`: reward 1, or 0 with the reason in details.

    `spec` sets tolerances, the answer fallback and the time budget (`timeout_s`, default 2 s as in the
    service). Thread-safe; calls from several threads share the one worker.
    """
    local = _service()
    sample = Sample(completion=completion, reference=reference)
    return local.run(local.service.score(spec if spec is not None else "math", sample))
