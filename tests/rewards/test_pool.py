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
    assert outcome.value == 5 and not outcome.timeout and outcome.fault is None and outcome.error is None


async def test_timeout_kills_and_replaces_the_worker(pool):
    before = {(await pool.run(pool_fns.pid, timeout=5)).value for _ in range(4)}
    outcome = await pool.run(pool_fns.sleep_then, 30, "late", timeout=0.3)
    assert outcome.timeout and outcome.value is None
    assert pool.timeouts == 1
    await asyncio.sleep(0.5)
    after = {o.value for o in await pool.map(pool_fns.pid, [()] * 8, timeout=5)}
    assert len(before | after) >= 3  # one worker was replaced by a new process
    assert (await pool.run(pool_fns.add, 1, 1, timeout=5)).value == 2


async def test_others_are_served_while_one_hangs(pool):
    hung = asyncio.create_task(pool.run(pool_fns.sleep_then, 30, None, timeout=1))
    quick = [await pool.run(pool_fns.add, i, i, timeout=5) for i in range(20)]
    assert [o.value for o in quick] == [2 * i for i in range(20)]
    assert not hung.done()
    assert (await hung).timeout


async def test_a_sample_that_kills_its_worker_twice_is_its_own_fault(pool):
    outcome = await pool.run(pool_fns.die, timeout=5)
    assert outcome.fault and "killed its grading worker twice" in outcome.fault and outcome.error is None
    assert "(worker exited with code 3)" in outcome.fault or "(worker closed its socket)" in outcome.fault
    results = await pool.map(pool_fns.add, [(i, 1) for i in range(10)], timeout=5)
    assert [o.value for o in results] == list(range(1, 11))


async def test_memory_limit_is_an_outcome_not_a_crash_of_the_pool(pool):
    outcome = await pool.run(pool_fns.allocate, 2048, timeout=10)
    assert outcome.fault == "out of memory" and outcome.error is None
    assert (await pool.run(pool_fns.allocate, 16, timeout=10)).value == 16 * 1024 * 1024


async def test_a_function_that_raises_is_an_error_not_a_verdict(pool):
    outcome = await pool.run(pool_fns.fail, timeout=5)
    assert outcome.error == "grader failed: ValueError: bad input" and outcome.fault is None
    assert pool.health()["errors"] == 1


async def test_map_keeps_order_under_concurrency(pool):
    items = [(0.01 * (i % 3), i) for i in range(30)]
    outcomes = await pool.map(pool_fns.sleep_then, items, timeout=5)
    assert [o.value for o in outcomes] == list(range(30))


async def test_slow_calls_yield_the_cpu_and_workers_get_their_priority_back(pool):
    from rewards.pool import SLOW_NICENESS

    assert (await pool.run(pool_fns.niceness_after, 1.0, timeout=5)).value == SLOW_NICENESS
    after = [await pool.run(pool_fns.niceness_after, 0, timeout=5) for _ in range(4)]  # read at once
    assert {o.value for o in after} == {pool.niceness}


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


async def test_a_worker_that_dies_once_is_replaced_and_the_call_retried(pool, tmp_path):
    outcome = await pool.run(pool_fns.die_once, str(tmp_path / "marker"), timeout=5)
    assert outcome.value == "second try"
    await asyncio.sleep(0.5)
    health = pool.health()
    assert health["live"] == 2 and health["restarts"] == 1 and health["crashes"] == 1 and health["status"] == "ok"
    assert len({(await pool.run(pool_fns.pid, timeout=5)).value for _ in range(6)}) == 2


async def test_an_idle_worker_killed_from_outside_is_never_handed_a_call(pool):
    import os
    import signal

    victim = pool._idle[0].pid
    os.kill(victim, signal.SIGKILL)
    await asyncio.sleep(0.5)
    assert pool.health()["restarts"] == 1 and pool.health()["live"] == 2
    outcomes = await pool.map(pool_fns.pid, [()] * 8, timeout=5)
    assert all(o.value not in (None, victim) for o in outcomes)
    assert pool.crashes == 0  # nobody's call met the dead worker


@pytest.mark.parametrize("megabytes", [0.25, 1, 2])
async def test_large_calls_and_replies_go_through(pool, megabytes):
    size = int(megabytes * 1024 * 1024)
    outcomes = await pool.map(pool_fns.echo_size, [("y" * size,)] * 4, timeout=5)
    assert [o.value for o in outcomes] == [size] * 4
    reply = await pool.run(pool_fns.big_reply, 2, timeout=5)
    assert len(reply.value) == 2 * 1024 * 1024


async def test_what_cannot_cross_to_or_from_a_worker_is_an_error(pool):
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    sent = await pool.run(pool_fns.echo_size, deep, timeout=5)
    assert sent.error and "cannot be sent" in sent.error
    back = await pool.run(pool_fns.unpicklable, timeout=5)
    assert back.error and "unsendable" in back.error
    assert (await pool.run(pool_fns.add, 1, 2, timeout=5)).value == 3


async def test_a_slow_call_gets_a_spare_so_quick_calls_keep_both_workers(pool):
    slow = [asyncio.create_task(pool.run(pool_fns.spin, 1.5, timeout=5)) for _ in range(2)]
    for _ in range(100):  # both move to the slow lane, and spares take their places
        await asyncio.sleep(0.05)
        if pool._spares == 2 and pool.health()["live"] == 2:
            break
    assert pool.health()["slow"] == 2 and pool.health()["live"] == 2
    quick = await pool.map(pool_fns.add, [(i, i) for i in range(20)], timeout=5)
    assert [o.value for o in quick] == [2 * i for i in range(20)]
    assert not any(task.done() for task in slow)  # served while both slow calls still hold their workers
    assert [(await task).value for task in slow] == [1.5, 1.5]
    await asyncio.sleep(0.3)
    assert pool.health()["slow"] == 0 and len(pool._workers) == 2  # the slow-lane workers retired


async def test_calls_end_in_an_error_when_no_worker_can_be_started(monkeypatch):
    import os
    import signal

    from rewards import pool as pool_module

    monkeypatch.setattr(pool_module, "RESPAWN_BACKOFF_S", (0.01, 0.01))
    pool = WorkerPool(1, memory_mb=512)
    await pool.start()
    try:
        async def cannot_spawn():
            raise OSError("forkserver gone")

        monkeypatch.setattr(pool, "_spawn", cannot_spawn)
        os.kill(pool._idle[0].pid, signal.SIGKILL)
        await asyncio.sleep(0.2)  # the pool notices the loss, and fails to replace it
        outcome = await asyncio.wait_for(pool.run(pool_fns.add, 1, 2, timeout=5), timeout=10)
        assert outcome.error and "no grading worker" in outcome.error
        assert pool.health()["status"] == "degraded" and pool.health()["live"] == 0
    finally:
        await pool.close()
