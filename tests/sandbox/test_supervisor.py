"""The worker's supervisor: its accounting of a run (time, output, memory, completion) and its work dir, first
function by function in this process, then through a real worker program started without a jail."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.jail import Jail
from sandbox.worker import guard
from sandbox.worker.child import Setting
from sandbox.worker.supervisor import (
    WorkerState,
    collect,
    completion,
    load_config,
    recv,
    remove,
    reset,
    send,
    stash,
)

LIMITS = {"wall_s": 5, "cpu_s": 5, "memory_mb": 256, "output_kb": 64, "pids": 16}


def test_completion_is_the_nonce_the_length_and_the_value_exactly():
    assert completion("n0nce\n2\n42", "n0nce") == (True, "42")
    assert completion("n0nce\n0\n", "n0nce") == (True, "")
    assert completion("guess\n2\n42", "n0nce") == (False, None)
    assert completion("n0nce\n2\n421", "n0nce") == (False, None)  # a value written after the harness's
    assert completion("n0nce\n3\n42", "n0nce") == (False, None)  # cut short
    assert completion("x\n1\n5n0nce\n2\n42", "n0nce") == (False, None)  # the program wrote first
    assert completion("", "n0nce") == (False, None)


def test_config_pid_namespace_only_as_pid_1():
    env = {"SANDBOX_WORKER_CONFIG": '{"workdir": "/w", "pidns": true, "cgroup_fd": 7, "disk_mb": 9}'}
    assert load_config(env, 1) == ("/w", True, 7, 9)
    assert load_config(env, 2).pidns is False  # kill(-1) outside a namespace would kill the service's user
    assert load_config({}, 1) == ("/tmp", False, None, 64)


def spawn(script: str) -> subprocess.Popen[bytes]:
    """A child in its own session, as a run is (collect kills the session when it is done)."""
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)


def gone(proc: subprocess.Popen[bytes]) -> bool:
    return proc.wait(timeout=5) == -signal.SIGKILL


def test_collect_reads_until_the_child_exits():
    proc = spawn("print('out')")
    assert proc.stdout is not None
    buffers, timeout, over = collect(proc.pid, (proc.stdout.fileno(),), 1024, time.monotonic() + 10, False)
    assert bytes(buffers[proc.stdout.fileno()]) == b"out\n" and not timeout and not over
    proc.wait(timeout=5)


def test_collect_stops_at_the_output_cap_and_kills_the_run():
    proc = spawn("import sys\nwhile True: sys.stdout.write('x' * 4096)")
    assert proc.stdout is not None
    start = time.monotonic()
    buffers, timeout, over = collect(proc.pid, (proc.stdout.fileno(),), 10_000, start + 20, False)
    assert over and not timeout and time.monotonic() - start < 10
    assert len(buffers[proc.stdout.fileno()]) > 10_000  # the caller cuts it to the cap
    assert gone(proc)


def test_collect_stops_at_the_deadline_and_kills_the_run():
    proc = spawn("import time; print('started', flush=True); time.sleep(60)")
    assert proc.stdout is not None
    start = time.monotonic()
    buffers, timeout, over = collect(proc.pid, (proc.stdout.fileno(),), 1024, start + 0.5, False)
    assert timeout and not over and 0.4 < time.monotonic() - start < 5
    assert bytes(buffers[proc.stdout.fileno()]) == b"started\n"
    assert gone(proc)


def state_for(workdir: Path) -> WorkerState:
    """A supervisor's state over `workdir`; only the work dir matters to stash and reset."""
    stdio = (sys.stdin, sys.stdout, sys.stderr)
    setting = Setting(str(workdir), None, 64, stdio, {}, guard.take_snapshot({}, (), {}))
    return WorkerState(setting, False, workdir.stat().st_mode, {})


def test_reset_empties_what_a_program_locked_and_puts_back_the_stash(tmp_path):
    state = state_for(tmp_path)
    (tmp_path / "prog").write_bytes(b"\x7fELF built")
    (tmp_path / "prog").chmod(0o755)
    assert stash(state, {"names": ["prog"]}) == {}
    (tmp_path / "prog").write_bytes(b"overwritten by the program")
    locked = tmp_path / "deep" / "er"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    locked.chmod(0)
    (tmp_path / "deep").chmod(0)
    tmp_path.chmod(0o500)  # the program took away the work dir's write permission too
    assert reset(state, {"restore": True}) == {"clean": True}
    assert sorted(os.listdir(tmp_path)) == ["prog"]
    assert (tmp_path / "prog").read_bytes() == b"\x7fELF built" and (tmp_path / "prog").stat().st_mode & 0o777 == 0o755
    assert reset(state, {}) == {"clean": True} and os.listdir(tmp_path) == []  # without restore: forgotten
    assert reset(state, {"restore": True}) == {"clean": True} and os.listdir(tmp_path) == []


def test_remove_deletes_a_tree_without_permissions(tmp_path):
    top = tmp_path / "a"
    (top / "b" / "c").mkdir(parents=True)
    (top / "b" / "c" / "f").write_text("x")
    os.symlink("/etc", top / "link")  # removed as a link, never followed
    (top / "b" / "c").chmod(0)
    (top / "b").chmod(0)
    remove(str(top))
    assert not top.exists() and os.path.isdir("/etc")


@pytest.fixture(scope="module")
def worker() -> Iterator[Callable[..., dict[str, Any]]]:
    """A real worker program without a jail (the insecure mode's command), spoken to over its pipe."""
    argv, env, workdir, _ = Jail(isolated=False).worker_command()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None
    requests, replies = proc.stdin.fileno(), proc.stdout.fileno()

    def call(op: str = "run", **message: Any) -> dict[str, Any]:
        if op == "run":
            message = {"stdin": "", "files": {}, "mode": "main", **message,
                       "limits": {**LIMITS, **message.get("limits", {})}}
        send(requests, {"op": op, **message})
        return recv(replies)

    try:
        assert recv(replies) == {"ready": True, "pid1": False}
        yield call
    finally:
        proc.kill()
        proc.wait()
        assert workdir is not None
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_plain_run(worker):
    reply = worker(source="import sys; print(6 * 7); print('warn', file=sys.stderr)", stdin="ignored")
    assert reply["exit_code"] == 0 and reply["signal"] is None
    assert reply["stdout"] == "42\n" and reply["stderr"] == "warn\n"
    assert not (reply["timeout"] or reply["truncated"] or reply["memory"] or reply["completed"] or reply["dirty"])
    assert 0 < reply["wall_ms"] < 5000 and reply["max_rss_kb"] > 0


def test_wall_time_runs_out(worker):
    reply = worker(source="import time; time.sleep(30)", limits={"wall_s": 0.5})
    assert reply["timeout"] and reply["signal"] == signal.SIGKILL and reply["exit_code"] is None
    assert 400 < reply["wall_ms"] < 10_000 and reply["cpu_ms"] < 400


def test_cpu_time_runs_out(worker):
    reply = worker(source="while True: pass", limits={"cpu_s": 1, "wall_s": 60})
    assert reply["timeout"] and reply["signal"] == signal.SIGXCPU and reply["cpu_ms"] > 500  # rusage is sampled


def test_output_past_the_cap_is_cut_and_flagged(worker):
    reply = worker(source="print('x' * 100_000)", limits={"output_kb": 1})
    assert reply["truncated"] and len(reply["stdout"]) <= 1024 and not reply["timeout"]


def test_running_out_of_memory_is_flagged(worker):
    reply = worker(source="x = bytearray(512 * 1024 * 1024)", limits={"memory_mb": 64})
    assert reply["memory"] and reply["exit_code"] == 1 and "MemoryError" in reply["stderr"]


def test_a_call_completes_with_its_value_and_a_crash_does_not(worker):
    reply = worker(source="def double(a):\n    return a * 2\n", mode="call", fn_name="double", args=[21])
    assert reply["completed"] and reply["value"] == "42" and reply["exit_code"] == 0
    reply = worker(source="def double(a):\n    return a / 0\n", mode="call", fn_name="double", args=[21])
    assert not reply["completed"] and reply["value"] is None and "ZeroDivisionError" in reply["stderr"]


def test_a_program_cannot_write_the_completion_marker(worker):
    forge = "import os\nos.write(3, b'guess\\n1\\n5')\nraise SystemExit(0)\n"
    reply = worker(source=forge, mode="script", test="pass")
    assert not reply["completed"] and reply["exit_code"] == 0 and "before the test ran" in reply["stderr"]


def test_files_make_the_work_dir_dirty_until_reset_and_stash_survives(worker):
    reply = worker(source="open('made.txt', 'w').write('x')", files={"prog.py": "print(1)"})
    assert reply["dirty"] and reply["exit_code"] == 0
    assert worker("stash", names=["prog.py"]) == {}
    assert worker("reset", restore=True) == {"clean": True}
    reply = worker(source="import os; print(sorted(os.listdir('.')), open('prog.py').read())")
    assert reply["stdout"] == "['prog.py'] print(1)\n"
    assert worker("reset") == {"clean": True}
    assert worker(source="import os; print(os.listdir('.'))")["stdout"] == "[]\n"


def test_a_failed_request_is_reported_and_the_worker_goes_on(worker):
    assert worker("no-such-op") == {"worker_error": "KeyError: 'no-such-op'"}
    assert worker(source="print('still here')")["stdout"] == "still here\n"


def test_the_guard_refuses_frames_under_a_test(worker):
    reply = worker(source="import sys\nsys._getframe()\n", mode="script", test="pass")
    assert not reply["completed"] and "sandbox: sys._getframe is not available" in reply["stderr"]
    assert worker(source="import sys\nsys._getframe()\n")["exit_code"] == 0  # a plain run is not guarded


HARNESS_HUNT = """
def every_class():
    todo, seen = [object], set()
    while todo:
        cls = todo.pop()
        if id(cls) not in seen:
            seen.add(id(cls))
            try:
                todo.extend(type.__subclasses__(cls))
            except TypeError:
                pass
            yield cls

found = []
for cls in every_class():
    for value in list(vars(cls).values()):
        for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
            try:
                scope = fn.__globals__
            except Exception:
                continue
            if isinstance(scope, dict) and ("guard_test" in scope or "take_snapshot" in scope):
                found.append(cls.__name__)
"""


def test_no_class_a_program_can_find_leads_to_the_harness(worker):
    """Every class is one object.__subclasses__() away, unaudited: none may have a method of the harness."""
    reply = worker(source=HARNESS_HUNT, mode="script", test="assert found == [], found\nprint(len(found))")
    assert reply["completed"] and reply["stdout"] == "0\n", reply["stderr"]


HARNESS_HIJACK = HARNESS_HUNT + """
import sys
hits, armed = [], False

def spy(name, original):
    def hijacked(*args, **kwargs):
        if armed:
            hits.append(name)
        return original(*args, **kwargs)
    return hijacked

for cls in list(every_class()):
    if cls.__module__ == "__main__" and not issubclass(cls, BaseException):  # the program defines none
        for name in ("__getattribute__", "__getitem__", "__iter__", "__len__", "__contains__"):
            try:
                setattr(cls, name, spy(cls.__name__ + "." + name, getattr(cls, name)))
            except (AttributeError, TypeError):
                pass
for module_name in ("types", "os", "sys", "json", "json.encoder", "operator", "threading", "atexit", "resource",
                    "_signal", "_imp", "builtins", "io", "signal", "selectors", "time", "gc", "site", "importlib"):
    module = sys.modules[module_name]
    for name, value in list(vars(module).items()):
        if callable(value) and not name.endswith("hook") and not name.startswith("__"):
            try:
                setattr(module, name, spy(module_name + "." + name, value))
            except (AttributeError, TypeError):
                pass
armed = True

def report():
    return hits
"""


def test_the_harness_calls_nothing_the_program_could_patch_once_it_ran(worker):
    """Every class of the harness can be patched by the program (found as above), and so can every module: what
    the child uses between the program and its test (the test's builtins, the snapshot it restores from, the
    function type that makes the test's __import__) is held in builtin types or captured before the program."""
    reply = worker(source=HARNESS_HIJACK, mode="script", test="assert hits == [], hits\nprint('untouched')")
    assert reply["completed"] and reply["stdout"] == "untouched\n", reply["stderr"]
    reply = worker(source=HARNESS_HIJACK, mode="call", fn_name="report", args=[])
    assert reply["completed"] and reply["value"] == "[]", reply
    reply = worker(source=HARNESS_HIJACK, mode="calls", calls=[["report", "()", "{}"]])
    assert reply["completed"] and reply["value"] == "[[]]", reply


def test_the_service_code_is_not_importable_by_a_program(worker):
    """The worker is one program passed on its command line: even without a jail, no part of it (nor of the
    service) is a module a program could import and drive."""
    reply = worker(source="import sandbox.worker.supervisor")
    assert reply["exit_code"] == 1 and "No module named 'sandbox'" in reply["stderr"]


def test_the_originals_behind_the_guards_wrappers_stay_hidden(worker):
    """_signal.signal (under signal.signal) and _imp.create_builtin are the guard's wrappers: what they wrap is
    in their keyword defaults, which the hook refuses to show, and their globals are empty."""
    program = """import _imp, _signal
seen = []
for fn in (_signal.signal, _imp.create_builtin):
    for attribute in ("__kwdefaults__", "__defaults__", "__globals__"):
        try:
            seen.append(getattr(fn, attribute))
        except ValueError:
            seen.append("refused")
"""
    test = "assert seen == ['refused', 'refused', {'__builtins__': {}}] * 2, seen"
    reply = worker(source=program, mode="script", test=test)
    assert reply["completed"], reply["stderr"]
