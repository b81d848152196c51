"""A policy gaming the tests: each trick earns nothing."""

import pytest

from tests.sandbox.conftest import judge

CHECK = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n\ncheck(square)\n"
WRONG = "def square(x):\n    return x + 2\n"  # right for 2, wrong for 3


def script_verdict(url, solution, test=CHECK, language="python"):
    body = judge(url, solution, [{"type": "script", "code": test}], language=language)
    return body["tests"][0]


def test_honest_wrong_answer_fails_and_right_one_passes(sandbox_url):
    assert script_verdict(sandbox_url, WRONG)["status"] == "runtime_error"
    assert script_verdict(sandbox_url, "def square(x):\n    return x * x\n")["passed"]


@pytest.mark.parametrize("trick", [
    "import sys\nsys.exit(0)\n",
    "raise SystemExit\n",
    "import os\nos._exit(0)\n",
], ids=["sys.exit", "SystemExit", "os._exit"])
def test_exit_before_the_asserts(sandbox_url, trick):
    verdict = script_verdict(sandbox_url, WRONG + trick)
    assert not verdict["passed"] and verdict["status"] == "incomplete", verdict


def test_os_exit_in_the_middle_of_check(sandbox_url):
    solution = "import os\ndef square(x):\n    if x == 3:\n        os._exit(0)\n    return x + 2\n"
    verdict = script_verdict(sandbox_url, solution)
    assert not verdict["passed"] and verdict["status"] == "incomplete", verdict


@pytest.mark.parametrize("trick", [
    "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n",
    "AssertionError = None\n",
    "import builtins\n_real = builtins.abs\nbuiltins.abs = lambda x: 0\n",
    "abs = lambda x: 0\n",
    "import builtins\nbuiltins.__import__ = None\n",
], ids=["builtins.AssertionError", "shadow AssertionError", "builtins.abs", "shadow abs", "builtins.__import__"])
def test_monkeypatching_builtins(sandbox_url, trick):
    test = "import math\ndef check(candidate):\n    assert abs(candidate(3) - 9) < 1e-9\n\ncheck(square)\n"
    assert not script_verdict(sandbox_url, WRONG + trick, test=test)["passed"]


@pytest.mark.parametrize("trick", [
    "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
    "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "import sys\nsys.settrace(lambda *a: None)\n",
    "import threading, os, time\nthreading.Thread(target=lambda: (time.sleep(0.2), os._exit(0)), daemon=True).start()\n",
], ids=["excepthook", "atexit", "settrace", "thread-exit"])
def test_catching_the_harness_exceptions(sandbox_url, trick):
    slow = "import time\ndef check(candidate):\n    assert candidate(2) == 4\n    time.sleep(0.5)\n" \
           "    assert candidate(3) == 9\n\ncheck(square)\n"
    verdict = script_verdict(sandbox_url, WRONG + trick, test=slow)
    assert not verdict["passed"], verdict


def test_eq_override_in_call_tests(sandbox_url):
    solution = """
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __repr__(self):
        return "9"

class Nine(int):
    def __eq__(self, other):
        return True

def square(x):
    return Anything()

def square_int(x):
    return Nine(5)
"""
    tests = [{"type": "call", "fn_name": "square", "args": [3], "expected": 9},
             {"type": "call", "fn_name": "square_int", "args": [3], "expected": 9}]
    body = judge(sandbox_url, solution, tests)
    assert body["passed"] == 0, body
    assert "Anything" in body["tests"][0]["stderr_tail"] and "Nine" in body["tests"][1]["stderr_tail"]


def test_patching_the_serializer_does_not_forge_values(sandbox_url):
    solution = """
import builtins, json
json.dumps = lambda *a, **k: "9"
builtins.repr = lambda x: "9"
builtins.type = lambda x: int
builtins.isinstance = lambda *a: True
def square(x):
    return x + 2
"""
    tests = [{"type": "call", "fn_name": "square", "args": [3], "expected": e} for e in (9, 5)]
    body = judge(sandbox_url, solution, tests)
    assert [t["status"] for t in body["tests"]] == ["wrong_answer", "passed"], body


def test_printing_the_expected_output_without_computing(sandbox_url):
    tests = [{"type": "io", "stdin": "2", "expected_stdout": "4"},
             {"type": "io", "stdin": "3", "expected_stdout": "9"},
             {"type": "io", "stdin": "5", "expected_stdout": "25"}]
    body = judge(sandbox_url, "print(4)", tests)
    assert body["passed"] == 1 and body["fraction"] == pytest.approx(1 / 3)


def test_no_test_file_to_read(sandbox_url):
    solution = """
import os, glob
found = [p for p in glob.glob("/tmp/**", recursive=True) + glob.glob("./**", recursive=True)]
print(found, flush=True)
def square(x):
    for path in found:
        if os.path.isfile(path) and "candidate(3)" in open(path).read():
            return 9
    return x + 2
"""
    verdict = script_verdict(sandbox_url, solution)
    assert not verdict["passed"]
    assert verdict["stdout_tail"].startswith("['/tmp/', './']"), verdict


@pytest.mark.parametrize("language,exit_early", [("javascript", "process.exit(0);\n"), ("bash", "exit 0\n")])
def test_exit_before_the_test_in_other_languages(sandbox_url, language, exit_early):
    test = {"javascript": "if (square(3) !== 9) { process.exit(1); }", "bash": '[ "$(square 3)" = 9 ] || exit 1'}
    solution = {"javascript": "function square(x){ return x + 2; }\n", "bash": "square() { echo $(( $1 + 2 )); }\n"}
    verdict = script_verdict(sandbox_url, solution[language] + exit_early, test=test[language], language=language)
    assert verdict["status"] == "incomplete", verdict
