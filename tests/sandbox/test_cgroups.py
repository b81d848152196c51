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
        assert worker.new_oom_kills() == 0
        os.close(worker.procs_fd())
        worker.remove()
        assert not worker.memory.exists() and not worker.pids.exists()
    finally:
        cgroups.close()
    assert not cgroups.memory.exists() and not cgroups.pids.exists()


def test_a_run_that_cannot_enter_its_cgroup_is_the_sandboxs_failure_not_the_programs():
    """The worker reports it (the service retires the worker: sandbox_error), instead of a runtime error."""
    import asyncio

    from sandbox.errors import WorkerDied
    from sandbox.jail import Jail
    from sandbox.pool import Worker

    class BrokenCgroupJail(Jail):
        def worker_command(self, cgroup_fd=None):
            return super().worker_command(self.unwritable)

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


def _fake_v2(tmp_path, monkeypatch, controllers="cpu memory pids"):
    """A directory shaped like a cgroup2 mount, with this process in /svc (plain files: writes always work)."""
    import sandbox.cgroups as cg

    base = tmp_path / "svc"
    base.mkdir()
    (base / "cgroup.controllers").write_text(controllers + "\n")
    (base / "cgroup.subtree_control").write_text("")
    (base / "cgroup.procs").write_text("")
    monkeypatch.setattr(cg, "_mounts", lambda: [(str(tmp_path), "/", "cgroup2", set())])
    monkeypatch.setattr(cg, "_own_paths", lambda: {"": "/svc"})
    return base


def test_cgroup_v2_detection_on_a_delegated_tree(tmp_path, monkeypatch):
    base = _fake_v2(tmp_path, monkeypatch)
    cgroups = Cgroups._v2()
    assert cgroups is not None and cgroups.version == 2 and cgroups.memory == cgroups.pids
    assert cgroups.memory.parent == base and "+memory +pids" in (base / "cgroup.subtree_control").read_text()
    assert (cgroups.memory / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert not any(p.name.endswith("-service") for p in base.iterdir())  # enabling worked without moving


def test_cgroup_v2_moves_into_a_leaf_when_its_own_group_refuses_and_gives_up_cleanly(tmp_path, monkeypatch):
    import errno

    import sandbox.cgroups as cg

    base = _fake_v2(tmp_path, monkeypatch)
    real_write = cg._write

    def busy(path, value):  # the kernel's answer while other processes share the group
        if path == base / "cgroup.subtree_control":
            raise OSError(errno.EBUSY, "Device or resource busy")
        real_write(path, value)

    monkeypatch.setattr(cg, "_write", busy)
    assert Cgroups._v2() is None
    leaf = base / f"{cg.PREFIX}{os.getpid()}-service"
    assert (leaf / "cgroup.procs").read_text() == "0"  # it tried a leaf of its own...
    assert (base / "cgroup.procs").read_text() == "0"  # ...and moved back when that did not help


def test_cgroup_v2_without_the_controllers_is_not_used(tmp_path, monkeypatch):
    _fake_v2(tmp_path, monkeypatch, controllers="hugetlb")
    assert Cgroups._v2() is None


def test_cgroup_v2_enables_the_controllers_once_it_alone_has_moved_into_a_leaf(tmp_path, monkeypatch):
    import errno

    import sandbox.cgroups as cg

    base = _fake_v2(tmp_path, monkeypatch)
    real_write, refusals = cg._write, []

    def busy_until_moved(path, value):  # EBUSY while this service still sits in its own group
        if path == base / "cgroup.subtree_control" and not refusals:
            refusals.append(path)
            raise OSError(errno.EBUSY, "Device or resource busy")
        real_write(path, value)

    monkeypatch.setattr(cg, "_write", busy_until_moved)
    cgroups = Cgroups._v2()
    assert cgroups is not None and refusals
    assert (base / f"{cg.PREFIX}{os.getpid()}-service" / "cgroup.procs").read_text() == "0"
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"
