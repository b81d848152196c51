"""The cgroup plumbing on this host: where a cgroup's directory is, and one worker's cgroups made and removed."""

import os

import pytest

from sandbox.cgroups import Cgroups, _inside


def test_a_cgroup_path_under_its_mount():
    assert str(_inside("/sys/fs/cgroup/memory", "/", "/a/b")) == "/sys/fs/cgroup/memory/a/b"
    assert str(_inside("/sys/fs/cgroup", "/", "/")) == "/sys/fs/cgroup"
    assert str(_inside("/mnt/cg", "/a", "/a/b")) == "/mnt/cg/b"  # a mount of part of the hierarchy
    assert _inside("/mnt/cg", "/a", "/other") is None


def test_worker_cgroups_are_made_limited_and_removed():
    cgroups = Cgroups.detect()
    if cgroups is None:
        pytest.skip("this host lets us write no cgroup with memory and pids controllers")
    try:
        worker = cgroups.create("worker-test")
        assert (worker.memory / "home").is_dir() and (worker.memory / "run").is_dir() and worker.pids.is_dir()
        worker.limit(300 * 1024 * 1024, 17)
        memory = "memory.max" if cgroups.version == 2 else "memory.limit_in_bytes"
        assert worker._file(memory).read_text().strip() == str(300 * 1024 * 1024)
        assert worker._file("pids.max").read_text().strip() == "17"
        worker.limit(100 * 1024 * 1024, 17)  # lowering: v1 must lower memory before memory+swap
        assert worker._file(memory).read_text().strip() == str(100 * 1024 * 1024)
        assert worker.oom_kills() == 0
        for fd in worker.procs_fds():
            os.close(fd)
        worker.remove()
        assert not worker.memory.exists() and not worker.pids.exists()
    finally:
        cgroups.close()
    assert not cgroups.memory.exists() and not cgroups.pids.exists()


def test_a_run_that_cannot_enter_its_cgroup_is_the_sandboxs_failure_not_the_programs():
    """The worker reports it (the service retires the worker: sandbox_error), instead of a runtime error."""
    import asyncio

    from sandbox.jail import Jail
    from sandbox.pool import Worker, WorkerDied

    class BrokenCgroupJail(Jail):
        def worker_command(self, cgroup_fds=()):
            return super().worker_command((self.unwritable,))

    async def attempt():
        jail = BrokenCgroupJail()
        jail.unwritable = os.open(os.devnull, os.O_RDONLY)  # writing "0" to it fails like a lost cgroup would
        worker = await Worker.start(jail)
        os.close(jail.unwritable)
        try:
            limits = {"wall_s": 5, "cpu_s": 5, "memory_mb": 256, "output_kb": 64, "pids": 16}
            with pytest.raises(WorkerDied, match="cannot move the run into its cgroup"):
                await worker.run({"source": "print(1)", "mode": "main", "stdin": "", "files": {}, "limits": limits})
        finally:
            await worker.kill()

    asyncio.run(attempt())
