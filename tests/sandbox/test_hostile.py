"""Hostile programs the jail must contain; after each, the service is healthy and answers correctly."""

from urllib.parse import urlparse

import httpx
import pytest

from tests.procs import REPO
from tests.sandbox.conftest import SECRET, assert_healthy, judge, run

SMALL = {"wall_s": 3, "memory_mb": 128}
# Processes a run can see, by signal 0 to every pid of its namespace (the jail has no /proc at all).
LIVE_PIDS = """
def live_pids():
    found = []
    for pid in range(1, 1 << 15):
        try:
            os.kill(pid, 0)
            found.append(pid)
        except ProcessLookupError:
            pass
    return found
"""


def test_no_network_not_even_the_services_own_port(sandbox_url):
    port = urlparse(sandbox_url).port
    code = f"""
import socket
for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
    try:
        socket.create_connection((host, port), timeout=1)
        print("CONNECTED", host)
    except OSError as exc:
        print("blocked", host, type(exc).__name__)
"""
    result = run(sandbox_url, code, limits=SMALL)
    assert result["stdout"].count("blocked") == 3 and "CONNECTED" not in result["stdout"], result
    assert_healthy(sandbox_url)


def test_no_secrets_project_files_or_service_environment(sandbox_url):
    code = f"""
import os
for path in ["/etc/shadow", "/etc/passwd", {str(REPO / "pyproject.toml")!r}, {str(REPO / "sandbox" / "worker" / "guard.py")!r},
             "/root/.bash_history", "/proc/1/environ"]:
    try:
        print("READ", path, len(open(path).read()))
    except OSError as exc:
        print("denied", path, type(exc).__name__)
print(sorted(os.environ), os.environ.get("RLVR_TEST_SECRET"))
"""
    result = run(sandbox_url, code, limits=SMALL)
    out = result["stdout"]
    assert "READ" not in out and out.count("denied") == 6, result
    environment = out.split("denied /proc/1/environ")[1]
    assert SECRET not in environment and "RLVR_TEST_SECRET" not in environment
    assert "VIRTUAL_ENV" not in environment and str(REPO) not in environment and "PATH" in environment


def test_cannot_write_outside_the_work_dir(sandbox_url):
    code = """
import os
for path in ["/x", "/usr/x", "/etc/x", "/dev/shm/x", "/dev/x", "/proc/x", "/bin/x"]:
    try:
        open(path, "w").write("pwned")
        print("WROTE", path)
    except OSError:
        print("denied", path)
open("here.txt", "w").write("fine")
print("workdir ok", os.path.exists("here.txt"))
"""
    out = run(sandbox_url, code, limits=SMALL)["stdout"]
    assert "WROTE" not in out and out.count("denied") == 7 and "workdir ok True" in out, out


def test_fork_bomb(sandbox_url):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = run(sandbox_url, code, limits={"wall_s": 2, "pids": 16})
    assert result["status"] == "timeout"
    assert_healthy(sandbox_url)


def test_memory_bomb(sandbox_url):
    result = run(sandbox_url, "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))\n", limits=SMALL)
    assert result["status"] == "memory_limit", result
    assert result["max_rss_kb"] < 200 * 1024
    assert_healthy(sandbox_url)


def _tree_limits(url):
    health = httpx.get(url + "/healthz", timeout=10).json()
    if health["tree_limits"] == "rlimits":
        pytest.skip("this host lets the sandbox write no cgroup: memory is bounded per process only")
    return health


def test_memory_bomb_across_processes_is_bounded_as_a_whole(sandbox_url):
    """Six children of 200 MB each stay under the per-process rlimit of 256 MB; together they far exceed it,
    and the run's cgroup stops them."""
    code = """
import os, time
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(200 * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(1.5)
        os._exit(0)
    children.append(pid)
held = sum(os.waitpid(pid, 0)[1] == 0 for pid in children)
print("children that held 200 MB:", held)
"""
    _tree_limits(sandbox_url)
    result = run(sandbox_url, code, limits={"wall_s": 10, "memory_mb": 256})
    assert result["status"] == "memory_limit", result
    held = int(result["stdout"].split(":")[1])
    assert held <= 2, result  # 256 MB for the run, plus the work dir and headroom: not six times 200 MB
    assert_healthy(sandbox_url)


def test_many_small_processes_cannot_get_the_worker_killed(sandbox_url):
    """Out of memory, the kernel kills the largest process of the run's cgroup; the worker is not in it."""
    health = _tree_limits(sandbox_url)
    code = "for i in $(seq 25); do ( x=$(head -c 10000000 /dev/zero | tr '\\0' a); sleep 2 ) & done; wait; echo done"
    result = run(sandbox_url, code, language="bash", limits={"wall_s": 10, "memory_mb": 64, "pids": 128})
    assert result["status"] == "memory_limit" and "Killed" in result["stderr"], result
    assert_healthy(sandbox_url)
    assert httpx.get(sandbox_url + "/healthz", timeout=10).json()["recycled"] == health["recycled"]


def test_memory_bomb_in_cpp(sandbox_url):
    code = "#include <vector>\n#include <cstring>\nint main(){ std::vector<char*> v; " \
           "for(;;){ char* p = new char[1<<24]; memset(p, 1, 1<<24); v.push_back(p);} }"
    result = run(sandbox_url, code, language="cpp", limits={"wall_s": 5, "memory_mb": 128})
    assert result["status"] == "memory_limit", result


def test_infinite_loop_hits_cpu_or_wall_limit(sandbox_url):
    result = run(sandbox_url, "while True:\n    pass\n", limits={"wall_s": 2, "cpu_s": 1})
    assert result["status"] == "timeout" and result["exit_code"] is None
    assert result["wall_ms"] < 5000
    assert_healthy(sandbox_url)


def test_sleeping_past_the_wall_limit(sandbox_url):
    result = run(sandbox_url, "import time\nprint('start', flush=True)\ntime.sleep(60)\n", limits={"wall_s": 1})
    assert result["status"] == "timeout" and result["stdout"] == "start\n"
    assert_healthy(sandbox_url)


def test_huge_output_is_capped_and_flagged(sandbox_url):
    code = "import sys\nchunk = 'x' * 1_000_000\nfor _ in range(100):\n    sys.stdout.write(chunk)\n"
    result = run(sandbox_url, code, limits={"wall_s": 10, "output_kb": 256})
    assert result["status"] == "output_limit" and result["truncated"]
    assert len(result["stdout"]) == 256 * 1024
    assert_healthy(sandbox_url)


def test_huge_stderr_while_stdout_is_read(sandbox_url):
    code = "import sys\nfor _ in range(50):\n    sys.stderr.write('e' * 1_000_000)\n    print('o' * 1000)\n"
    result = run(sandbox_url, code, limits={"wall_s": 10, "output_kb": 128})
    assert result["status"] == "output_limit" and len(result["stderr"]) == 128 * 1024


def test_killing_parent_and_pid_1(sandbox_url):
    code = """
import os, signal
for pid in (os.getppid(), 1):
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
        try:
            os.kill(pid, sig)
        except OSError as exc:
            print("denied", pid, exc)
print("still here", os.getppid())
"""
    result = run(sandbox_url, code, limits=SMALL)
    assert result["status"] == "ok" and "still here" in result["stdout"], result
    assert_healthy(sandbox_url)


def test_no_other_processes_visible(sandbox_url):
    code = "import os\n" + LIVE_PIDS + "print(os.path.exists('/proc'), live_pids(), os.getpid())\n"
    out = run(sandbox_url, code, limits=SMALL)["stdout"]
    exists, pids, me = out.split(" ", 1)[0], out[out.index("["):out.index("]") + 1], out.split()[-1]
    assert exists == "False" and pids == f"[1, {me}]", out


def test_background_child_does_not_outlive_the_run(single_worker_url):
    code = """
import os, subprocess, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1.5)
        open("late.txt", "w").write("I survived")
        time.sleep(60)
    os._exit(0)
print("parent leaves")
"""
    assert run(single_worker_url, code, limits=SMALL)["stdout"] == "parent leaves\n"
    check = "import os, time\n" + LIVE_PIDS + """
time.sleep(2)
print(os.path.exists("late.txt"), len(live_pids()))
"""
    assert run(single_worker_url, check, limits=SMALL)["stdout"] == "False 2\n"


def test_files_of_another_run_are_gone(single_worker_url):
    plant = """
import os
open("secret.txt", "w").write("answer")
os.makedirs("locked/deeper")
open("locked/deeper/f", "w").write("x")
os.chmod("locked/deeper", 0)
os.chmod("locked", 0)
open(".hidden", "w").write("x")
"""
    assert run(single_worker_url, plant, limits=SMALL)["status"] == "ok"
    out = run(single_worker_url, "import os\nprint(os.listdir('.'), os.listdir('/tmp'))", limits=SMALL)["stdout"]
    assert out == "[] []\n"


def test_locking_the_work_dir_itself(single_worker_url):
    locked = run(single_worker_url, "import os\nopen('x', 'w').write('x')\nos.chmod('.', 0)\nprint('locked')",
                 limits=SMALL)
    assert locked["status"] == "ok" and locked["stdout"] == "locked\n", locked
    out = run(single_worker_url, "import os\nprint(os.listdir('.'))", limits=SMALL)
    assert out["stdout"] == "[]\n", out
    read_only = run(single_worker_url, "import os\nos.chmod('.', 0o555)", limits=SMALL)
    assert read_only["status"] == "ok", read_only
    out = run(single_worker_url, "open('f', 'w').write('x')\nprint('writable')", limits=SMALL)
    assert out["stdout"] == "writable\n", out


def test_filling_the_disk(single_worker_url):
    code = """
try:
    with open("fill", "wb") as f:
        while True:
            f.write(b"x" * 1_000_000)
except OSError as exc:
    print("stopped:", type(exc).__name__)
"""
    result = run(single_worker_url, code, limits={"wall_s": 10})
    assert "stopped" in result["stdout"] or result["status"] != "ok", result
    big = run(single_worker_url, "open('f', 'wb').write(b'x' * 20_000_000)\nprint('wrote')", limits={"wall_s": 10})
    assert big["stdout"] == "wrote\n", big


def test_cpp_compile_bomb(sandbox_url):
    levels = "".join(f"#define L{i + 1} L{i} L{i} L{i} L{i} L{i} L{i} L{i} L{i}\n" for i in range(12))
    code = "#define L0 \"xxxxxxxxxxxxxxxxxxxxxxxx\"\n" + levels + "const char* s = L12;\nint main(){}\n"
    tests = [{"type": "io", "stdin": "", "expected_stdout": ""}]
    body = judge(sandbox_url, code, tests, language="cpp", limits={"wall_s": 3, "memory_mb": 256})
    assert body["tests"][0]["status"] == "compile_error" and body["passed"] == 0, body
    include = run(sandbox_url, "#include </dev/zero>\nint main(){}", language="cpp",
                  limits={"wall_s": 3, "memory_mb": 256})
    assert include["status"] == "compile_error"
    assert_healthy(sandbox_url)


def test_no_system_v_shared_memory_to_outlive_the_run(sandbox_url):
    """A System V segment would outlive the run in the worker's IPC namespace, holding memory no limit counts."""
    code = "#include <sys/ipc.h>\n#include <sys/shm.h>\n#include <cstdio>\n#include <cerrno>\nint main() {\n" \
           "  int id = shmget(IPC_PRIVATE, 1 << 28, IPC_CREAT | 0600);\n  printf(\"%d %d\\n\", id, errno);\n}\n"
    result = run(sandbox_url, code, language="cpp", limits={"wall_s": 10})
    assert result["status"] == "ok" and result["stdout"] == "-1 1\n", result  # EPERM
    assert_healthy(sandbox_url)


def test_each_test_of_a_job_gets_a_fresh_work_dir(single_worker_url):
    code = "import os\ndef count():\n    names = os.listdir('.')\n    open('mark', 'w').write('x')\n    return len(names)\n"
    body = judge(single_worker_url, code, [{"type": "call", "fn_name": "count", "args": [], "expected": 0}] * 3)
    assert body["passed"] == 3, body


LOCK_THE_WORK_DIR = {  # each run locks its work dir; the next test of the job must still run normally
    "python": ("import os\nos.chmod('.', 0)\ndef one():\n    return 1\n",
               {"type": "call", "fn_name": "one", "args": [], "expected": 1}),
    "javascript": ("require('fs').chmodSync('.', 0);\nfunction one() { return 1; }\n",
                   {"type": "script", "code": "if (one() !== 1) { process.exit(1); }"}),
    "cpp": ("#include <sys/stat.h>\n#include <cstdio>\nint main() { chmod(\".\", 0); puts(\"1\"); }\n",
            {"type": "io", "stdin": "", "expected_stdout": "1"}),
}


@pytest.mark.parametrize("language", sorted(LOCK_THE_WORK_DIR))
def test_a_program_locking_its_work_dir_harms_no_later_test(single_worker_url, language):
    code, test = LOCK_THE_WORK_DIR[language]
    body = judge(single_worker_url, code, [test] * 3, language=language, files={"data.txt": "x"})
    assert [t["status"] for t in body["tests"]] == ["passed"] * 3, body


def test_a_work_dir_that_cannot_be_emptied_fails_the_program_not_the_sandbox(single_worker_url):
    code = "import os\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\ndef one():\n    return 1\n"
    body = judge(single_worker_url, code, [{"type": "call", "fn_name": "one", "args": [], "expected": 1}] * 2)
    assert [t["status"] for t in body["tests"]] == ["passed", "runtime_error"], body
    assert "cannot be emptied" in body["tests"][1]["reason"]
    assert_healthy(single_worker_url)
