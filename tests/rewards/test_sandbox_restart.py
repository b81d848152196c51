"""A sandbox killed and restarted under a code batch: the reward service's client rides it out, so every
sample gets its real verdict and none a made-up 0 or an error."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import httpx
import pytest

from rewards.service import RewardService
from rewards.settings import Settings
from rewards.types import Sample
from tests.procs import free_port, kill_group, start_detached


def start_sandbox(port: int, log: Path) -> subprocess.Popen:
    return start_detached(["sandbox", "--workers", "2"], port, log, wait_s=60)


@pytest.mark.timeout(300)
async def test_a_sandbox_restart_under_a_code_batch_costs_no_sample(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "sandbox.log"
    procs = [start_sandbox(port, log)]
    service = RewardService(Settings(workers=1, sandbox_urls=[f"http://127.0.0.1:{port}"]))
    await service.start()
    tests = {"tests": [{"type": "script", "code": "import time\ntime.sleep(0.3)\nassert add(2, 3) == 5"}]}
    samples = [Sample(completion=f"```python\ndef add(a, b):\n    return a + b + {i % 2}\n```", reference=tests)
               for i in range(48)]

    async def restart() -> None:
        await asyncio.sleep(1.5)  # chunks are running
        kill_group(procs[0])
        await asyncio.sleep(1.0)
        procs.append(await asyncio.get_running_loop().run_in_executor(None, start_sandbox, port, log))

    try:
        chaos = asyncio.create_task(restart())
        scores = await service.score_batch({"type": "code", "language": "python"}, samples)
        await chaos
    finally:
        await service.close()
        for proc in procs:
            kill_group(proc)
    assert len(procs) == 2  # it really was restarted
    assert [s.error for s in scores] == [None] * len(samples), [s.error for s in scores if s.error][:3]
    assert [s.reward for s in scores] == [1.0 if i % 2 == 0 else 0.0 for i in range(len(samples))]


@pytest.mark.timeout(300)
async def test_a_sandbox_worker_killed_mid_job_is_an_error_never_a_made_up_zero(tmp_path: Path) -> None:
    import psutil

    port = free_port()
    proc = start_sandbox(port, tmp_path / "sandbox.log")
    service = RewardService(Settings(workers=1, sandbox_urls=[f"http://127.0.0.1:{port}"]))
    await service.start()
    tests = {"tests": [{"type": "script", "code": "import time\ntime.sleep(1.5)\nassert add(2, 3) == 5"}]}
    samples = [Sample(completion=f"```python\ndef add(a, b):\n    return a + b + {i % 2}\n```", reference=tests)
               for i in range(4)]

    async def kill_workers() -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(200):  # until both workers are in a job
                await asyncio.sleep(0.05)
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).json()["busy"] == 2:
                    break
        await asyncio.sleep(0.2)
        for process in psutil.Process(proc.pid).children(recursive=True):  # bwrap and the workers inside it
            with contextlib.suppress(psutil.Error):
                process.kill()

    try:
        chaos = asyncio.create_task(kill_workers())
        scores = await service.score_batch({"type": "code", "language": "python"}, samples)
        await chaos
    finally:
        await service.close()
        kill_group(proc)
    expected = [1.0 if i % 2 == 0 else 0.0 for i in range(len(samples))]
    assert any(s.error is not None for s in scores), scores  # the jobs in the killed workers have no verdict
    for score, reward in zip(scores, expected, strict=True):
        assert score.error is not None or score.reward == reward, score
