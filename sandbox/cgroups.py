"""Memory and process limits on a worker's whole process tree, from cgroups where this host lets us write them.

rlimits bound each process, so a run that forks 60 children of 500 MB each gets them all. A cgroup per worker
bounds the tree: memory (with swap) and the number of processes. cgroup v2 where the memory and pids controllers
can be delegated to our own subtree, else v1's memory and pids hierarchies where they are writable, else none
(rlimits only; `/healthz` says which).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "rlvr-sandbox-"


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root inside the hierarchy, fs type, super options) of every cgroup mount."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        parts, extra = fields.split(), tail.split()
        if len(parts) >= 5 and len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
            found.append((parts[4], parts[3], extra[0], set(extra[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under "" its v2 path."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _inside(mount: str, root: str, path: str) -> Path | None:
    """The directory of cgroup `path` under a mount of the hierarchy's `root`, if the mount shows it."""
    if root != "/" and not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return Path(mount) / path[len(root.rstrip("/")):].lstrip("/")


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _empty_and_remove(directory: Path, grace_s: float = 2.0) -> None:
    """SIGKILL whatever is left in a cgroup (and its children), then delete it; a process dying in the kernel
    holds it for a moment, so retry until `grace_s`."""
    deadline = time.monotonic() + grace_s
    while directory.is_dir():
        for child in [p for p in directory.iterdir() if p.is_dir()]:
            _empty_and_remove(child, max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(OSError, ValueError):
            for pid in (directory / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        try:
            directory.rmdir()
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def _sweep(parent: Path) -> None:
    """Remove what earlier sandbox services that died without cleaning up left under `parent` (one may have had
    this process's pid, e.g. before a container restarted)."""
    for stale in parent.glob(PREFIX + "*"):
        pid = stale.name[len(PREFIX):].partition("-")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not Path(f"/proc/{pid}").exists()):
            _empty_and_remove(stale)


def _enable_for_children(base: Path) -> bool:
    """Give `base`'s children the memory and pids controllers (v2). That is allowed only in a cgroup holding no
    processes, so when this service is what holds it (a delegated unit, a container's root) it first moves
    itself into a leaf; if other processes are there too, it moves back and gives up."""
    control = base / "cgroup.subtree_control"
    if {"memory", "pids"} <= set(control.read_text().split()):
        return True
    with contextlib.suppress(OSError):
        _write(control, "+memory +pids")
        return True
    leaf = base / f"{PREFIX}{os.getpid()}-service"
    try:
        leaf.mkdir(exist_ok=True)
        _write(leaf / "cgroup.procs", "0")  # "0": this process
        _write(control, "+memory +pids")
        return True
    except OSError:
        with contextlib.suppress(OSError):
            _write(base / "cgroup.procs", "0")
            leaf.rmdir()
        return False


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/<pid>/task/*/children)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    pending += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
    return found


@dataclass
class WorkerCgroup:
    """One worker's cgroups: memory's `home` holds the worker, its `run` each run's process tree with the limit.

    The worker stays out of `run`, so when a run's tree outgrows its memory the kernel kills one of the run's
    processes, never the worker. A run's first process moves itself into `run` through a file descriptor of
    `run`'s cgroup.procs that the service opened and the worker inherits (`procs_fd`); the program never sees
    it. A process limit cannot kill anyone, so in v1 the worker shares its pids cgroup with its runs.
    """

    version: int
    memory: Path  # worker-N in the memory hierarchy (v2: the only one)
    pids: Path  # worker-N in the pids hierarchy (v2: the same directory)
    _memory_limit: int = 1 << 62  # v1's "unlimited" is about this large
    _pids_limit: int = 0
    _events_fd: int | None = None
    _oom_kills_seen: int = 0

    def _file(self, name: str) -> Path:
        """A control file of the runs: memory's `run`, and for pids.* in v1 the pids group itself."""
        return self.pids / name if name.startswith("pids.") and self.version == 1 else self.memory / "run" / name

    def procs_fd(self) -> int:
        """A write-only fd of `run`'s cgroup.procs: writing "0" to it moves the writer in."""
        return os.open(self.memory / "run" / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)

    def attach(self, pid: int) -> None:
        """Move `pid` and its descendants (the worker, and bwrap above it) in, outside `run`."""
        homes = [self.memory / "home"] + ([self.pids] if self.version == 1 else [])
        for member in _descendants(pid):
            for directory in homes:
                with contextlib.suppress(ProcessLookupError):
                    _write(directory / "cgroup.procs", str(member))

    def limit(self, memory_bytes: int, pids: int) -> None:
        """Cap a run's memory (swap included) and process count."""
        if self.version == 2 and memory_bytes != self._memory_limit:
            _write(self._file("memory.max"), str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(self._file("memory.swap.max"), "0")
        elif memory_bytes != self._memory_limit:
            order = [self._file("memory.limit_in_bytes"), self._file("memory.memsw.limit_in_bytes")]
            for path in order if memory_bytes < self._memory_limit else reversed(order):  # memsw >= memory
                if path.exists():
                    _write(path, str(memory_bytes))
        self._memory_limit = memory_bytes
        if pids != self._pids_limit:
            _write(self._file("pids.max"), str(pids))
            self._pids_limit = pids

    def new_oom_kills(self) -> int:
        """How many of the runs' processes the kernel has killed for memory since the last call (once per run:
        nothing runs in `run` between runs)."""
        total = self._oom_kills()
        new, self._oom_kills_seen = total - self._oom_kills_seen, total
        return new

    def _oom_kills(self) -> int:
        """The kernel's count of OOM kills in `run`, read through a descriptor kept open."""
        try:
            if self._events_fd is None:
                name = "memory.events" if self.version == 2 else "memory.oom_control"
                self._events_fd = os.open(self._file(name), os.O_RDONLY | os.O_CLOEXEC)
            text = os.pread(self._events_fd, 4096, 0).decode()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        """Kill what is left inside, then delete the directories."""
        if self._events_fd is not None:
            os.close(self._events_fd)
            self._events_fd = None
        for top in dict.fromkeys((self.memory, self.pids)):
            _empty_and_remove(top)


@dataclass
class Cgroups:
    """Where this service makes its workers' cgroups: a directory of its own per hierarchy."""

    version: int
    memory: Path
    pids: Path

    @classmethod
    def detect(cls) -> Cgroups | None:
        """A writable place for worker cgroups with memory and pids limits, or None."""
        try:
            return cls._v2() or cls._v1()
        except (OSError, ValueError):
            return None

    @classmethod
    def _v2(cls) -> Cgroups | None:
        own = _own_paths().get("")
        for mount, root, kind, _ in _mounts():
            if kind != "cgroup2" or own is None or (base := _inside(mount, root, own)) is None:
                continue
            if not {"memory", "pids"} <= set((base / "cgroup.controllers").read_text().split()):
                return None
            _sweep(base)
            if not _enable_for_children(base):
                return None
            top = base / f"{PREFIX}{os.getpid()}"
            try:
                top.mkdir()
                _write(top / "cgroup.subtree_control", "+memory +pids")
            except OSError:
                with contextlib.suppress(OSError):
                    top.rmdir()
                return None
            return cls(2, top, top)
        return None

    @classmethod
    def _v1(cls) -> Cgroups | None:
        own = _own_paths()
        tops = {}
        for controller in ("memory", "pids"):
            for mount, root, kind, options in _mounts():
                if kind == "cgroup" and controller in options and controller in own:
                    base = _inside(mount, root, own[controller])
                    if base is not None and base.is_dir():
                        _sweep(base)
                        tops[controller] = base / f"{PREFIX}{os.getpid()}"
                        break
        if set(tops) != {"memory", "pids"}:
            return None
        made = []
        try:
            for top in tops.values():
                top.mkdir()
                made.append(top)
            if (tops["memory"] / "memory.use_hierarchy").exists():
                with contextlib.suppress(OSError):
                    _write(tops["memory"] / "memory.use_hierarchy", "1")
        except OSError:
            for top in made:
                top.rmdir()
            return None
        return cls(1, tops["memory"], tops["pids"])

    def create(self, name: str) -> WorkerCgroup:
        """A worker's cgroups: `name` with `home` and `run` inside in the memory hierarchy (v1: and `name` alone
        in the pids hierarchy)."""
        memory, pids = self.memory / name, self.pids / name
        worker = WorkerCgroup(self.version, memory, pids)
        try:
            memory.mkdir()
            if self.version == 2:  # only leaves hold processes, so the worker lives in `home`
                _write(memory / "cgroup.subtree_control", "+memory +pids")
            else:
                pids.mkdir()
            (memory / "home").mkdir()
            (memory / "run").mkdir()
        except OSError:
            worker.remove()
            raise
        return worker

    def close(self) -> None:
        """Remove this service's directories, and anything still inside them."""
        for directory in {self.memory, self.pids}:
            _empty_and_remove(directory)
