"""Every language the host has, through the real service: runs, and each test kind."""

import httpx
import pytest

from sandbox import scripts
from tests.sandbox.conftest import judge, run

ECHO_SUM = {
    "python": "a, b = map(int, input().split())\nprint(a + b)\n",
    "cpp": "#include <iostream>\nint main(){long a,b; std::cin>>a>>b; std::cout<<a+b<<\"\\n\";}\n",
    "javascript": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
                  "console.log(a + b);\n",
    "bash": "read a b\necho $((a + b))\n",
}
SCRIPT = {  # a solution defining `twice`, and a test that checks it (the good and the broken assertion)
    "python": ("def twice(x):\n    return 2 * x\n", "assert twice(4) == 8", "assert twice(4) == 9"),
    "cpp": ("#include <cassert>\nint twice(int x){ return 2 * x; }\n",
            "int main(){ assert(twice(4) == 8); }", "int main(){ assert(twice(4) == 9); }"),
    "javascript": ("function twice(x){ return 2 * x; }\n", "const assert = require('assert'); assert(twice(4) === 8);",
                   "const assert = require('assert'); assert(twice(4) === 9);"),
    "bash": ("twice() { echo $(( 2 * $1 )); }\n", '[ "$(twice 4)" = 8 ] || exit 1', '[ "$(twice 4)" = 9 ] || exit 1'),
}


def test_languages_listed(sandbox_url):
    body = httpx.get(sandbox_url + "/v1/languages", timeout=10).json()
    names = {lang["name"]: lang for lang in body["languages"]}
    assert names["python"]["call_tests"] and not names["python"]["compiled"]
    assert set(names) == {"python", "cpp", "javascript", "bash"}  # all four are installed on this host
    assert names["cpp"]["compiled"]


@pytest.mark.parametrize("language", sorted(ECHO_SUM))
def test_run_reads_stdin(sandbox_url, language):
    result = run(sandbox_url, ECHO_SUM[language], language=language, stdin="40 2\n")
    assert result["status"] == "ok", result
    assert result["stdout"] == "42\n" and result["exit_code"] == 0
    assert result["wall_ms"] > 0 and result["max_rss_kb"] > 0


@pytest.mark.parametrize("language", sorted(ECHO_SUM))
def test_io_tests(sandbox_url, language):
    tests = [{"type": "io", "stdin": "1 2", "expected_stdout": "3"},
             {"type": "io", "stdin": "5 5", "expected_stdout": "11\n"}]
    body = judge(sandbox_url, ECHO_SUM[language], tests, language=language)
    assert [t["status"] for t in body["tests"]] == ["passed", "wrong_answer"]
    assert (body["passed"], body["total"], body["fraction"]) == (1, 2, 0.5)


@pytest.mark.parametrize("language", sorted(SCRIPT))
def test_script_tests(sandbox_url, language):
    solution, good, bad = SCRIPT[language]
    body = judge(sandbox_url, solution, [{"type": "script", "code": good}, {"type": "script", "code": bad}],
                 language=language)
    assert [t["passed"] for t in body["tests"]] == [True, False], body
    assert body["tests"][1]["status"] == "runtime_error"


def test_cpp_compiled_once_for_io_tests(sandbox_url):
    tests = [{"type": "io", "stdin": f"{i} {i}", "expected_stdout": str(2 * i)} for i in range(4)]
    body = judge(sandbox_url, ECHO_SUM["cpp"], tests, language="cpp")
    assert body["passed"] == 4 and body["compile"]["status"] == "ok"


def test_cpp_compile_error_fails_every_test(sandbox_url):
    tests = [{"type": "io", "stdin": "1 1", "expected_stdout": "2"}] * 3
    body = judge(sandbox_url, "int main( { return 0; }", tests, language="cpp")
    assert body["passed"] == 0 and body["compile"]["status"] == "compile_error"
    assert {t["status"] for t in body["tests"]} == {"compile_error"}
    assert "error" in body["tests"][0]["stderr_tail"]
    assert run(sandbox_url, "int main( {", language="cpp")["status"] == "compile_error"


def test_call_tests(sandbox_url):
    code = ("def mean(xs):\n    return sum(xs) / len(xs)\n\n"
            "class Solution:\n    def pair(self, a, b):\n        return (a, [b, {'k': None}])\n")
    tests = [
        {"type": "call", "fn_name": "mean", "args": [[1, 2]], "expected": 1.5},
        {"type": "call", "fn_name": "mean", "args": [[1, 1, 2]], "expected": 1.3333333333},
        {"type": "call", "fn_name": "mean", "args": [[1, 2]], "expected": 2},
        {"type": "call", "fn_name": "Solution.pair", "args": [True, "x"], "expected": [True, ["x", {"k": None}]]},
        {"type": "call", "fn_name": "Solution.pair", "args": [1, "x"], "expected": [True, ["x", {"k": None}]]},
        {"type": "call", "fn_name": "missing", "args": [], "expected": None},
        {"type": "call", "fn_name": "mean", "args": [[]], "expected": 0},
    ]
    body = judge(sandbox_url, code, [dict(t, tolerance=1e-6) for t in tests])
    statuses = [t["status"] for t in body["tests"]]
    assert statuses == ["passed", "passed", "wrong_answer", "passed", "wrong_answer", "runtime_error",
                        "runtime_error"], body
    assert "ZeroDivisionError" in body["tests"][6]["stderr_tail"]


def test_float_compare_and_stop_on_first_failure(sandbox_url):
    code = "print(1 / 3, 'ok')"
    tests = [{"type": "io", "expected_stdout": "0.333333 ok", "compare": "float"},
             {"type": "io", "expected_stdout": "0.333333 ok", "compare": "exact"},
             {"type": "io", "expected_stdout": "0.3333333333333333 ok\n", "compare": "exact"}]
    assert [t["passed"] for t in judge(sandbox_url, code, tests)["tests"]] == [True, False, True]
    body = judge(sandbox_url, code, tests, stop_on_first_failure=True)
    assert [t["status"] for t in body["tests"]] == ["passed", "wrong_answer", "skipped"]
    assert body["passed"] == 1 and body["total"] == 3


def test_files_are_in_the_work_dir(sandbox_url):
    result = run(sandbox_url, "print(open('data/in.txt').read().upper())", files={"data/in.txt": "abc"})
    assert result["stdout"] == "ABC\n"


def test_python_programs_get_the_site_builtins_and_packages(sandbox_url):
    """The worker skips site's .pth hooks, but programs still see exit(), quit() and site-packages."""
    assert run(sandbox_url, "print(1)\nexit(3)\nprint(2)")["exit_code"] == 3
    assert run(sandbox_url, "quit()\nprint(2)")["stdout"] == ""
    out = run(sandbox_url, "import sys\nprint(any(p.endswith('site-packages') for p in sys.path))")["stdout"]
    assert out == "True\n"


def test_a_returned_int_too_long_to_read_is_a_wrong_answer(sandbox_url):
    code = "import sys\nsys.set_int_max_str_digits(0)\ndef big():\n    return 10 ** 5000\n"
    body = judge(sandbox_url, code, [{"type": "call", "fn_name": "big", "args": [], "expected": 1}])
    assert body["tests"][0]["status"] == "wrong_answer" and "cannot be read" in body["tests"][0]["reason"], body


AS_CALLS = {  # a Python script test of asserts on calls runs as calls and keeps Python's meaning
    "list is not a tuple": ("def pair(x):\n    return [x, 2]\n", "assert pair(1) == (1, 2)", False),
    "tuple": ("def pair(x):\n    return (x, 2)\n", "assert pair(1) == (1, 2)", True),
    "Counter equals a dict": ("from collections import Counter\ndef count(s):\n    return Counter(s)\n",
                              "assert count('aab') == {'a': 2, 'b': 1}", True),
    "tolerances": ("import math\ndef half(x):\n    return x / 2\n",
                   "assert abs(half(1) - 0.5) < 1e-9\nassert math.isclose(half(3), 1.5, rel_tol=1e-6)", True),
    "truth and identity": ("def odd(x):\n    return x % 2 == 1\n", "assert not odd(2)\nassert odd(3) is True", True),
    "int keys and sets": ("def flip(d):\n    return {v: k for k, v in d.items()}, set(d)\n",
                          "assert flip({'a': 1}) == ({1: 'a'}, {'a'})", True),
    "keywords": ("def add(x, y=0):\n    return x + y\n", "assert add(1, y=2) == 3", True),
    "True == 1, 3.0 == 3": ("def one(x):\n    return True\ndef three(x):\n    return 3.0\n",
                            "assert one(0) == 1\nassert three(0) == 3", True),
    "fresh arguments each call": ("def grow(xs):\n    xs.append(1)\n    return len(xs)\n",
                                  "assert grow([]) == 1\nassert grow([]) == 1", True),
    "state across calls": ("calls = []\ndef count():\n    calls.append(1)\n    return len(calls)\n",
                           "assert count() == 1\nassert count() == 2", True),
    "a wrong second value": ("def sq(x):\n    return x * x if x < 3 else 0\n", "assert sq(2) == 4\nassert sq(3) == 9",
                             False),
}


@pytest.mark.parametrize("code,test,passes", list(AS_CALLS.values()), ids=list(AS_CALLS))
def test_asserts_of_calls_keep_their_meaning(sandbox_url, code, test, passes):
    verdict = judge(sandbox_url, code, [{"type": "script", "code": test}])["tests"][0]
    assert verdict["passed"] == passes, verdict
    assert passes or verdict["status"] == "runtime_error" and "AssertionError" in verdict["reason"], verdict


EVERYDAY_SCRIPTS = {  # programs and tests as people write them keep working under the script harnesses
    "bash strict mode": ("bash", "#!/bin/bash\nset -euo pipefail\nsquare() { echo $(( $1 * $1 )); }\n",
                         '[ "$(square 3)" = 9 ] || exit 1\n', {}),
    "javascript module": ("javascript", "#!/usr/bin/env node\nfunction square(x) { return x * x; }\n"
                          "module.exports = { square };\nif (require.main === module) { console.log('main'); }\n",
                          "const assert = require('node:assert/strict');\nassert.equal(square(3), 9);\n", {}),
    "cpp header of the request": ("cpp", '#pragma GCC optimize("O3")\n#include "util.h"\n'
                                  "int square(int x) { return twice(x) / 2 * x; }\n",
                                  '#include <cassert>\n#include "util.h"\nint main() { assert(square(3) == 9); }\n',
                                  {"util.h": "#pragma once\ninline int twice(int x) { return 2 * x; }\n"}),
}


@pytest.mark.parametrize("language,code,test,files", list(EVERYDAY_SCRIPTS.values()), ids=list(EVERYDAY_SCRIPTS))
def test_everyday_script_tests_still_pass(sandbox_url, language, code, test, files):
    body = judge(sandbox_url, code, [{"type": "script", "code": test}], language=language, files=files)
    assert body["tests"][0]["passed"], body


@pytest.mark.parametrize("test", [
    "x = square(3)\nassert x == 9",  # a statement that is not an assert
    "assert len(square(3)) == 1",  # a builtin's value
    "assert square(square(1)) == 1",  # an argument that is no literal
    "assert square(3) == set()",  # set() is a call
    "assert square(b'x') == 1",  # bytes the harness does not return
    "assert square(*[3]) == 9",
    "def check(f):\n    assert f(3) == 9\ncheck(square)",
])
def test_other_scripts_run_as_written(test):
    assert scripts.analyse(test).checks is None


def test_asserts_of_calls_become_checks():
    analysis = scripts.analyse("assert f(1, [2], k=(3,)) == {'a': (1,)}\nassert not g()\n"
                               "assert math.isclose(h(0.5), 1.0, rel_tol=1e-6)\nassert abs(2 - h(1)) <= 0.1")
    checks = analysis.checks
    assert [(c.fn_name, c.args, c.kwargs, c.kind) for c in checks] == [
        ("f", "(1, [2], )", "{'k': (3,)}", "eq"), ("g", "()", "{}", "falsy"), ("h", "(0.5, )", "{}", "isclose"),
        ("h", "(1, )", "{}", "at_most")]
    assert checks[0].holds({"a": (1,)}) and not checks[0].holds({"a": [1]})
    assert checks[2].holds(1.0000001) and not checks[2].holds(1.1) and not checks[2].holds("1.0")
    assert checks[3].holds(2.05) and not checks[3].holds(2.2)
    assert scripts.analyse("import math\nr = f()\nassert math.isclose(r, 1)").modules == ()
    assert scripts.analyse("r = f()\nassert math.isclose(r, 1) and os.sep").modules == ("math", "os")


def test_long_scripts_are_analysed_but_not_remembered():
    """The service keeps small tests' analyses (the same tests come with every sample), never megabytes of them."""
    before = scripts._analyse_cached.cache_info().currsize
    long = "assert f(1) == 1\n" + "# padding\n" * 3000
    assert scripts.analyse(long).checks
    assert scripts._analyse_cached.cache_info().currsize == before
