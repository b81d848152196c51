"""The dynamic batcher: concurrent submits share calls, order is kept, failures reach every caller."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rewards.models.batcher import DynamicBatcher


@pytest.fixture
def executor():
    with ThreadPoolExecutor(1) as pool:
        yield pool


async def test_concurrent_requests_share_batches(executor):
    sizes = []
    gate = threading.Event()

    def run(items):
        gate.wait(5)  # hold the first call so the rest queue up behind it
        sizes.append(len(items))
        return [x * 2 for x in items]

    batcher = DynamicBatcher.on_thread(run, executor, max_batch=8, wait_ms=20)
    tasks = [asyncio.create_task(batcher.submit([i])) for i in range(20)]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert [r[0] for r in results] == [i * 2 for i in range(20)]
    assert sum(sizes) == 20 and max(sizes) <= 8 and len(sizes) <= 4
    await batcher.aclose()


async def test_batch_size_one_is_one_call_per_item(executor):
    sizes = []
    batcher = DynamicBatcher.on_thread(lambda items: sizes.append(len(items)) or items, executor, max_batch=1)
    results = await asyncio.gather(*(batcher.submit([i, i + 100]) for i in range(5)))
    assert results == [[i, i + 100] for i in range(5)]
    assert sizes == [1] * 10


async def test_failure_reaches_callers_and_the_batcher_survives(executor):
    def run(items):
        if "boom" in items:
            raise RuntimeError("model fell over")
        return items

    batcher = DynamicBatcher.on_thread(run, executor, max_batch=4, wait_ms=1)
    with pytest.raises(RuntimeError, match="fell over"):
        await batcher.submit(["boom", "x"])
    assert await batcher.submit(["ok"]) == ["ok"]


async def test_concurrent_batches_up_to_the_limit():
    running, most = 0, 0

    async def run(items):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return items

    batcher = DynamicBatcher(run, max_batch=2, wait_ms=0, concurrency=3)
    results = await asyncio.gather(*(batcher.submit([i]) for i in range(12)))
    assert [r[0] for r in results] == list(range(12))
    assert most == 3 and batcher.batches >= 6
    await batcher.aclose()
