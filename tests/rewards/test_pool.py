import asyncio

import pytest

from rewards.pool import WorkerPool
from tests.rewards import pool_fns


@pytest.fixture
async def pool():
    pool = WorkerPool(2, memory_mb=512)
    await pool.start()
    yield pool
    await pool.close()


async def test_runs_a_function(pool):
    outcome = await pool.run(pool_fns.add, 2, 3, timeout=5)
    assert outcome.value == 5 and not outcome.timeout and outcome.crashed is None


async def test_timeout_kills_and_replaces_the_worker(pool):
    before = {(await pool.run(pool_fns.pid, timeout=5)).value for _ in range(4)}
    outcome = await pool.run(pool_fns.sleep_then, 30, "late", timeout=0.3)
    assert outcome.timeout and outcome.value is None
    assert pool.timeouts == 1
    after = {(await pool.run(pool_fns.pid, timeout=5)).value for _ in range(4)}
    assert len(before | after) >= 3  # one worker was replaced by a new process
    assert (await pool.run(pool_fns.add, 1, 1, timeout=5)).value == 2


async def test_others_are_served_while_one_hangs(pool):
    hung = asyncio.create_task(pool.run(pool_fns.sleep_then, 30, None, timeout=1))
    quick = [await pool.run(pool_fns.add, i, i, timeout=5) for i in range(20)]
    assert [o.value for o in quick] == [2 * i for i in range(20)]
    assert not hung.done()
    assert (await hung).timeout


async def test_a_dead_worker_is_replaced(pool):
    outcome = await pool.run(pool_fns.die, timeout=5)
    assert outcome.crashed and "died" in outcome.crashed
    results = await pool.map(pool_fns.add, [(i, 1) for i in range(10)], timeout=5)
    assert [o.value for o in results] == list(range(1, 11))


async def test_memory_limit_is_an_outcome_not_a_crash_of_the_pool(pool):
    outcome = await pool.run(pool_fns.allocate, 2048, timeout=10)
    assert outcome.crashed == "out of memory"
    assert (await pool.run(pool_fns.allocate, 16, timeout=10)).value == 16 * 1024 * 1024


async def test_exceptions_are_reported(pool):
    outcome = await pool.run(pool_fns.fail, timeout=5)
    assert outcome.crashed == "ValueError: bad input"


async def test_map_keeps_order_under_concurrency(pool):
    items = [(0.01 * (i % 3), i) for i in range(30)]
    outcomes = await pool.map(pool_fns.sleep_then, items, timeout=5)
    assert [o.value for o in outcomes] == list(range(30))


async def test_slow_calls_yield_the_cpu_and_workers_get_their_priority_back(pool):
    from rewards.pool import SLOW_NICENESS, WORKER_NICENESS

    assert (await pool.run(pool_fns.niceness_after, 1.0, timeout=5)).value == SLOW_NICENESS
    after = [await pool.run(pool_fns.niceness_after, 0, timeout=5) for _ in range(4)]  # read at once
    assert {o.value for o in after} == {WORKER_NICENESS}


def test_default_size_keeps_a_spare_worker():
    import os

    assert WorkerPool().size == (os.cpu_count() or 1) + 1


async def test_the_budget_is_cpu_time_so_a_starved_call_is_not_a_timeout(pool):
    # the worker sleeps (no CPU) past its budget of wall time, but within the wall cap
    outcome = await pool.run(pool_fns.sleep_then, 0.8, "done", timeout=0.5)
    assert outcome.value == "done" and not outcome.timeout


async def test_a_call_burning_cpu_past_its_budget_is_killed(pool):
    outcome = await pool.run(pool_fns.spin, 5.0, timeout=0.5)
    assert outcome.timeout
