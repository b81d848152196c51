"""A policy gaming the tests: each trick earns nothing."""

import httpx
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


# A program that gets hold of any frame walks up to the harness, finds the run's 32-hex-digit completion
# marker among the locals, writes it where the harness would, and leaves: it would pass without solving.
FORGE = '''
import os, sys
def forge(frame):
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, str) and len(value) == 32:
                os.write(3, (value + "\\n0\\n").encode())
                os._exit(0)
        frame = frame.f_back
    print("no marker found", file=sys.stderr)
'''
FRAME_SOURCES = {
    "sys._getframe": "forge(sys._getframe())",
    "inspect.currentframe": "import inspect\nforge(inspect.currentframe())",
    "inspect.stack": "import inspect\nforge(inspect.stack()[0].frame)",
    "traceback tb_frame": "try:\n    1 / 0\nexcept ZeroDivisionError as exc:\n    forge(exc.__traceback__.tb_frame)",
    "sys.exc_info": "try:\n    1 / 0\nexcept ZeroDivisionError:\n    forge(sys.exc_info()[2].tb_frame)",
    "generator gi_frame": "def gen():\n    forge(g.gi_frame)\n    yield\ng = gen()\nnext(g)",
    "coroutine cr_frame": "async def co():\n    forge(c.cr_frame)\nc = co()\ntry:\n    c.send(None)\nexcept StopIteration:\n    pass",
    "signal handler frame": "import signal\nsignal.signal(signal.SIGUSR1, lambda s, f: forge(f))\n"
                            "os.kill(os.getpid(), signal.SIGUSR1)",
    "fresh _signal module": "import importlib.util\nm = importlib.util.module_from_spec(importlib.util.find_spec('_signal'))\n"
                            "m.signal(10, lambda s, f: forge(f))\nos.kill(os.getpid(), 10)",
    "sys.settrace": "sys.settrace(lambda f, e, a: forge(f))\n(lambda: 0)()",
    "sys.setprofile": "sys.setprofile(lambda f, e, a: forge(f))\n(lambda: 0)()",
    "cProfile": "import cProfile\ncProfile.Profile().enable()",
    "gc.get_objects": "import gc\nfor o in gc.get_objects():\n    if type(o) is type(sys._getframe):\n        pass\n"
                      "forge(next(o for o in gc.get_objects() if type(o).__name__ == 'frame'))",
    "gc.get_referrers": "import gc\nforge(next(o for o in gc.get_referrers(square) if type(o).__name__ == 'frame'))",
}


@pytest.mark.parametrize("grab", list(FRAME_SOURCES.values()), ids=list(FRAME_SOURCES))
def test_frames_cannot_reach_the_marker(sandbox_url, grab):
    solution = FORGE + "def square(x):\n" + "".join("    " + line + "\n" for line in grab.splitlines()) + \
        "    return x + 2\n"
    verdict = script_verdict(sandbox_url, solution)
    assert not verdict["passed"], verdict
    assert "sandbox: " in verdict["stderr_tail"] or "no marker found" in verdict["stderr_tail"], verdict


RAW_MEMORY = {
    "ctypes": "import ctypes\nprint(ctypes.string_at(id(x), 8))",
    "_ctypes by spec": "import importlib.util\n"
                       "importlib.util.module_from_spec(importlib.util.find_spec('_ctypes'))",
    "_ctypes under another name": "import importlib.util, importlib.machinery as m\n"
                                  "spec = m.ModuleSpec('x._ctypes', m.ExtensionFileLoader('x._ctypes', "
                                  "importlib.util.find_spec('_ctypes').origin), origin="
                                  "importlib.util.find_spec('_ctypes').origin)\nimportlib.util.module_from_spec(spec)",
    "_testcapi": "import _testcapi",
    "/proc/self/mem": "open('/proc/self/mem', 'rb')",
    "code.replace": "square.__code__.replace(co_code=b'')",
    "marshal.loads": "import marshal\nmarshal.loads(marshal.dumps(compile('1', 'x', 'eval')))",
    "new interpreter": "import os\nos.execv(sys.executable, [sys.executable, '-c', 'print(1)'])",
    "subprocess": "import subprocess\nsubprocess.run(['true'])",
}


@pytest.mark.parametrize("reach", list(RAW_MEMORY.values()), ids=list(RAW_MEMORY))
def test_no_raw_memory_new_programs_or_own_hooks(sandbox_url, reach):
    solution = "import sys\ndef square(x):\n" + "".join("    " + line + "\n" for line in reach.splitlines()) + \
        "    return x * x\n"
    verdict = script_verdict(sandbox_url, solution)
    assert verdict["status"] == "runtime_error" and verdict["stderr_tail"].strip(), verdict


def test_an_audit_hook_of_its_own_is_not_added(sandbox_url):
    """Its own hook would see the test's source and code; it is refused, silently as CPython does for hooks."""
    solution = "import sys\nseen = []\nsys.addaudithook(lambda event, args: seen.append(event))\n" \
               "def square(x):\n    return x * x if seen else x + 2\n"
    assert script_verdict(sandbox_url, solution)["status"] == "runtime_error"


def test_everyday_python_still_works_under_the_guard(sandbox_url):
    solution = '''
import collections, dataclasses, enum, logging, typing, warnings, json, fractions, signal, threading, os
Point = collections.namedtuple("Point", "x y")
Color = enum.Enum("Color", "RED GREEN")
class Pair(typing.NamedTuple):
    a: int
    b: int
@dataclasses.dataclass
class Box:
    size: int = 1
logging.basicConfig(level=logging.INFO)
logging.info("logging works")
warnings.warn("warnings work")
signal.signal(signal.SIGUSR1, lambda signum, frame: print("handler frame", frame))
os.kill(os.getpid(), signal.SIGUSR1)
threading.Thread(target=print, args=("thread works",)).start()
def square(x):
    return Point(x, 0).x * Pair(x, 1).a * Box().size * json.loads("1") * int(fractions.Fraction(1))
'''
    verdict = script_verdict(sandbox_url, solution)
    assert verdict["passed"], verdict
    assert "handler frame None" in verdict["stdout_tail"] and "thread works" in verdict["stdout_tail"]


def test_a_failing_test_still_shows_its_traceback(sandbox_url):
    verdict = script_verdict(sandbox_url, WRONG)
    tail = verdict["stderr_tail"]
    assert 'File "test.py", line 3, in check' in tail and "AssertionError" in tail, verdict
    assert "_python_child" not in tail


PATCHES = {
    "math.isclose": "import math\nmath.isclose = lambda *a, **k: True",
    "sys.modules entry": "import sys, types\nfake = types.ModuleType('math')\nfake.isclose = lambda *a, **k: True\n"
                         "sys.modules['math'] = fake",
    "module class": "import math, types\nclass Liar(types.ModuleType):\n"
                    "    def __getattribute__(self, name):\n        return lambda *a, **k: True\nmath.__class__ = Liar",
    "import hook": "import sys, types, importlib.abc\nsys.modules.pop('cmath', None)\n"
                   "class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
                   "    def find_spec(self, name, path, target=None):\n"
                   "        return importlib.util.spec_from_loader(name, self) if name == 'cmath' else None\n"
                   "    def create_module(self, spec):\n        return None\n"
                   "    def exec_module(self, module):\n        module.isclose = lambda *a, **k: True\n"
                   "import importlib.util\nsys.meta_path.insert(0, Finder())",
    "imported by the program": "import cmath\ncmath.isclose = lambda *a, **k: True",
    "patched, then dropped": "import math\nmath.isclose = lambda *a, **k: True\ndel math",
    "import system, dropped": "import sys, _frozen_importlib as boot\nsys.modules.pop('cmath', None)\n"
                              "real = boot._find_and_load\n"
                              "def fake(name, load):\n    module = real(name, load)\n"
                              "    if name == 'cmath':\n        module.isclose = lambda *a, **k: True\n"
                              "    return module\nboot._find_and_load = fake\ndel sys, boot",
}


@pytest.mark.parametrize("patch", list(PATCHES.values()), ids=list(PATCHES))
def test_patched_modules_are_put_back_before_the_test(sandbox_url, patch):
    module = "cmath" if "cmath" in patch else "math"
    test = f"import {module}\ndef check(candidate):\n    assert {module}.isclose(candidate(3), 9)\n\ncheck(square)\n"
    assert script_verdict(sandbox_url, "def square(x):\n    return x * x\n", test=test)["passed"]
    verdict = script_verdict(sandbox_url, WRONG + patch + "\n", test=test)
    assert verdict["status"] == "runtime_error" and "AssertionError" in verdict["stderr_tail"], verdict


CPP_CHECK = "#include <cassert>\nint main() {\n    assert(square(2) == 4);\n    assert(square(3) == 9);\n}\n"
CPP_WRONG = "int square(int x) { return x + 2; }\n"


@pytest.mark.parametrize("trick", [
    "#include <cstdlib>\nstruct Early { Early() { std::exit(0); } } early;\n",
    "#include <unistd.h>\nstruct Early { Early() { _exit(0); } } early;\n",
    '#include <cstdlib>\nextern "C" int __real_main(int, char**, char**) { return 0; }\n',
    "#define main not_main\n",
], ids=["exit in a constructor", "_exit in a constructor", "own __real_main", "rename main"])
def test_cpp_script_tests_need_main_to_return(sandbox_url, trick):
    if "cpp" not in httpx.get(sandbox_url + "/v1/languages").text:
        pytest.skip("no g++ on this host")
    assert script_verdict(sandbox_url, "int square(int x) { return x * x; }\n", CPP_CHECK, "cpp")["passed"]
    verdict = script_verdict(sandbox_url, trick + CPP_WRONG, CPP_CHECK, "cpp")
    assert verdict["status"] in ("incomplete", "compile_error", "runtime_error"), verdict


STEAL_MARKER = r'''
import builtins, os, sys
real_import = builtins.__import__
def grab(name, g=None, l=None, fromlist=(), level=0, os=os, sys=sys, real_import=real_import):
    if type(g) is dict and "_audit" in g:  # the harness's globals: switch its hook off, then find the marker
        g["_audit"].__code__ = (lambda event, args, *rest, **kw: None).__code__
        frame = sys._getframe()
        while frame is not None:
            nonce = frame.f_locals.get("nonce")
            if type(nonce) is str and len(nonce) == 32:
                os.write(3, (nonce + "\n0\n").encode())
                os._exit(0)
            frame = frame.f_back
    return real_import(name, g, l, fromlist, level)
'''
HARNESS_TRAPS = {
    # C code imports while printing a failing test's traceback, through builtins.__import__
    "import hook, then dropped": STEAL_MARKER + "builtins.__import__ = grab\ndel builtins, os, sys\n" + WRONG,
    "import hook set by the solution mid-test": STEAL_MARKER + "def square(x):\n    builtins.__import__ = grab\n"
                                                "    return x + 2\n",
    # the harness makes its private functions with types.FunctionType: a fake one would get the harness's internals
    "fake FunctionType": "import types\nreal = types.FunctionType\n"
                         "def fake(code, g, name=None, argdefs=None, closure=None):\n"
                         "    for d in argdefs or ():\n"
                         "        if type(d) is real and d.__name__ == '_restore':\n"
                         "            d.__globals__['TEST_BUILTINS']['abs'] = lambda x: 0\n"
                         "    return real(code, g, name, argdefs, closure)\n"
                         "types.FunctionType = fake\ndel types\n" + WRONG,
}


@pytest.mark.parametrize("program", list(HARNESS_TRAPS.values()), ids=list(HARNESS_TRAPS))
def test_the_harness_never_runs_program_code_with_its_own_globals(sandbox_url, program):
    plain = "def check(candidate):\n    assert abs(candidate(3) - 9) < 1e-9\n\ncheck(square)\n"
    with_import = "import math\ndef check(candidate):\n    assert math.isclose(candidate(3), 9)\n\ncheck(square)\n"
    for test in (plain, with_import):
        verdict = script_verdict(sandbox_url, program, test=test)
        assert not verdict["passed"] and "AssertionError" in verdict["stderr_tail"], verdict


def test_functions_cannot_be_rewritten_in_place(sandbox_url):
    program = "def f():\n    return 1\ntry:\n    f.__code__ = (lambda: 2).__code__\nexcept ValueError as exc:\n" \
              "    print(exc)\n" + WRONG.replace("x + 2", "x * x")
    verdict = script_verdict(sandbox_url, program)
    assert verdict["passed"] and "setting the attribute __code__" in verdict["stdout_tail"], verdict


CLASS_PATCHES = {
    "method": ("import fractions\nfractions.Fraction.__eq__ = lambda self, other: True\ndel fractions\n",
               "from fractions import Fraction\ndef check(candidate):\n    assert Fraction(candidate(3)) == Fraction(9)\n"),
    "added method": ("import collections\ncollections.Counter.__ne__ = lambda self, other: False\n"
                     "collections.Counter.__eq__ = lambda self, other: True\ndel collections\n",
              "from collections import Counter\ndef check(candidate):\n    assert Counter([candidate(3)]) == Counter([9])\n"),
    "import finder": ("import _frozen_importlib_external as ext, sys\nsys.modules.pop('cmath', None)\n"
                      "class Loader:\n    def create_module(self, spec):\n        return None\n"
                      "    def exec_module(self, module):\n        module.isclose = lambda *a, **k: True\n"
                      "real = ext.FileFinder.find_spec\n"
                      "def find_spec(self, name, target=None):\n"
                      "    spec = real(self, name, target)\n"
                      "    if name == 'cmath' and spec is not None:\n        spec.loader = Loader()\n"
                      "    return spec\n"
                      "ext.FileFinder.find_spec = find_spec\ndel ext, sys\n",
                      "import cmath\ndef check(candidate):\n    assert cmath.isclose(candidate(3), 9)\n"),
}


@pytest.mark.parametrize("patch,test", list(CLASS_PATCHES.values()), ids=list(CLASS_PATCHES))
def test_patched_classes_are_put_back_before_the_test_uses_them(sandbox_url, patch, test):
    test += "\ncheck(square)\n"
    assert script_verdict(sandbox_url, "def square(x):\n    return x * x\n", test=test)["passed"]
    verdict = script_verdict(sandbox_url, WRONG + patch, test=test)
    assert verdict["status"] == "runtime_error" and "AssertionError" in verdict["stderr_tail"], verdict


CPP_WRONG_WITH_ASSERT = "#include <cassert>\n" + CPP_WRONG
CPP_MACROS = {
    "NDEBUG, test includes cassert": ("#define NDEBUG\n#include <cassert>\n" + CPP_WRONG, CPP_CHECK),
    "NDEBUG, test relies on the program's cassert": (
        "#define NDEBUG\n#include <cassert>\n" + CPP_WRONG, "int main() {\n    assert(square(3) == 9);\n}\n"),
    "assert redefined": (CPP_WRONG_WITH_ASSERT + "#undef assert\n#define assert(x) (void)0\n",
                         "int main() {\n    assert(square(3) == 9);\n}\n"),
    "own main, then main renamed": ("int main() { return 0; }\n#define main unused_main\n" + CPP_WRONG, CPP_CHECK),
    "a '# define' made by a macro": ("#define H # define NDEBUG\nH\n" + CPP_WRONG_WITH_ASSERT, CPP_CHECK),
}


@pytest.mark.parametrize("program,test", list(CPP_MACROS.values()), ids=list(CPP_MACROS))
def test_cpp_macros_of_the_program_do_not_reach_the_test(sandbox_url, program, test):
    verdict = script_verdict(sandbox_url, program, test, "cpp")
    assert not verdict["passed"] and verdict["status"] in ("runtime_error", "compile_error"), verdict


def test_cpp_test_sees_the_programs_declarations_and_headers(sandbox_url):
    """Names, `using namespace std` and headers of the program reach the test; its macros do not."""
    program = "#include <bits/stdc++.h>\nusing namespace std;\n#define SQ(x) ((x) * (x))\n" \
              "vector<int> squares(int n) { vector<int> v; for (int i = 1; i <= n; ++i) v.push_back(SQ(i)); " \
              "return v; }\n"
    test = "#include <cassert>\n#include <vector>\nint main() {\n    assert((squares(3) == vector<int>{1, 4, 9}));\n" \
           "    assert(INT_MAX > 0);\n}\n"
    assert script_verdict(sandbox_url, program, test, "cpp")["passed"]
    uses_macro = test.replace("INT_MAX > 0", "SQ(2) == 4")
    assert script_verdict(sandbox_url, program, uses_macro, "cpp")["status"] == "compile_error"


def test_cpp_program_finds_no_test_source_at_run_time(sandbox_url):
    program = "#include <dirent.h>\n#include <cstdio>\nstruct List { List() { DIR* d = opendir(\".\"); " \
              "while (dirent* e = readdir(d)) printf(\"%s \", e->d_name); } } list;\n" \
              "int square(int x) { return x * x; }\n"
    verdict = script_verdict(sandbox_url, program, CPP_CHECK, "cpp")
    assert verdict["passed"] and sorted(verdict["stdout_tail"].split()) == [".", "..", "main"], verdict


JS_TEST = "const assert = require('assert');\nassert.strictEqual(square(2), 4);\nassert.strictEqual(square(3), 9);\n"
JS_WRONG = "function square(x) { return x + 2; }\n"
JS_TRICKS = {
    "require hook": "const Module = require('module');\nconst real = Module.prototype.require;\n"
                    "Module.prototype.require = function (name) {\n"
                    "  if (String(name).replace('node:', '') === 'assert') {\n"
                    "    const yes = () => {};\n"
                    "    return Object.assign(yes, { strictEqual: yes, deepStrictEqual: yes, equal: yes, ok: yes });\n"
                    "  }\n  return real.apply(this, arguments);\n};\n",
    "assert patched": "const a = require('assert');\ntry { a.strictEqual = () => {}; } catch (e) {}\n",
    "marker from its own source": "const fs = require('fs');\n"
                                  "const seen = [process.argv.join(' '), process.execArgv.join(' '), "
                                  "JSON.stringify(process.env)];\n"
                                  "for (const name of fs.readdirSync('.')) seen.push(fs.readFileSync(name, 'utf8'));\n"
                                  "const found = seen.join('\\n').match(/[0-9a-f]{32}/);\n"
                                  "if (found) { fs.writeSync(3, found[0] + '\\n0\\n'); process.exit(0); }\n",
    "global assert": "globalThis.assert = () => {};\nconst assert = () => {};\n",
    "the harness's names": "for (const name of ['marker', 'input', 'own', 'writeSync']) {\n"
                           "  try { const v = eval(name); if (v && typeof v !== 'function') { "
                           "require('fs').writeSync(3, String(v.get ? v.get('x') : v)); process.exit(0); } "
                           "} catch (e) {}\n}\n",
}


@pytest.mark.parametrize("trick", list(JS_TRICKS.values()), ids=list(JS_TRICKS))
def test_javascript_program_cannot_switch_off_the_test(sandbox_url, trick):
    test = JS_TEST.replace("const assert = require('assert');\n", "") if "global" in trick else JS_TEST
    assert script_verdict(sandbox_url, "function square(x) { return x * x; }\n", test, "javascript")["passed"]
    verdict = script_verdict(sandbox_url, trick + JS_WRONG, test, "javascript")
    assert not verdict["passed"] and verdict["status"] in ("runtime_error", "incomplete"), verdict


JS_UNDERMINED = {  # the harness's own steps after the program ran use nothing these reach
    "array iteration": "Array.prototype[Symbol.iterator] = function* () {};\n",
    "Object.defineProperty": "Object.defineProperty = (o) => o;\n",
    "String and Map methods": "String.prototype.replace = () => 'x';\nMap.prototype.get = () => undefined;\n",
    "Function.prototype.call": "Function.prototype.call = function () {};\n",
    "vm.compileFunction": "require('vm').compileFunction = () => () => {};\n",
}


@pytest.mark.parametrize("undermine", list(JS_UNDERMINED.values()), ids=list(JS_UNDERMINED))
def test_javascript_process_exit_is_the_real_one_in_the_test(sandbox_url, undermine):
    test = "if (square(3) !== 9) { process.exit(1); }\n"
    verdict = script_verdict(sandbox_url, undermine + "process.exit = () => {};\n" + JS_WRONG, test, "javascript")
    assert verdict["status"] == "runtime_error", verdict
    hooked = script_verdict(sandbox_url, undermine + JS_TRICKS["require hook"] + JS_WRONG, JS_TEST, "javascript")
    assert hooked["status"] == "runtime_error", hooked


def test_javascript_standard_globals_the_program_replaced_are_put_back(sandbox_url):
    test = "const assert = require('assert');\nassert(Math.abs(square(3) - 9) < 1e-9);\n" \
           "assert(JSON.stringify([square(2)]) === '[4]');\n"
    assert script_verdict(sandbox_url, "function square(x) { return x * x; }\n", test, "javascript")["passed"]
    program = "Math.abs = () => 0;\nJSON.stringify = () => '[4]';\nglobalThis.Math = { abs: () => 0 };\n" + JS_WRONG
    verdict = script_verdict(sandbox_url, program, test, "javascript")
    assert verdict["status"] == "runtime_error" and "AssertionError" in verdict["stderr_tail"], verdict


BASH_TEST = '[ "$(square 2)" = 4 ] || exit 1\ntest "$(square 3)" = 9 || exit 1\n'
BASH_WRONG = "square() { echo $(( $1 + 2 )); }\n"
BASH_TRICKS = {
    "exit function": "exit() { :; }\n",
    "test and [ functions": "test() { return 0; }\nfunction [ { return 0; }\n",
    "exit switched off, then a function": "enable -n exit\nexit() { :; }\n",
    "alias": "shopt -s expand_aliases\nalias exit=:\nalias test=:\n",
    "DEBUG trap skips exit": "shopt -s extdebug\ntrap '[[ $BASH_COMMAND != exit* ]]' DEBUG\n",
    "readonly POSIXLY_CORRECT": "readonly POSIXLY_CORRECT\nexit() { :; }\n",
    "marker from its own source": "m=$(grep -ho '[0-9a-f]\\{32\\}' ./* \"$0\" 2>/dev/null | head -n 1)\n"
                                  "printf '%s\\n0\\n' \"$m\" >&3\nbuiltin exit 0\n",
}


@pytest.mark.parametrize("trick", list(BASH_TRICKS.values()), ids=list(BASH_TRICKS))
def test_bash_program_cannot_switch_off_the_test(sandbox_url, trick):
    assert script_verdict(sandbox_url, "square() { echo $(( $1 * $1 )); }\n", BASH_TEST, "bash")["passed"]
    verdict = script_verdict(sandbox_url, BASH_WRONG + trick, BASH_TEST, "bash")
    assert not verdict["passed"], verdict


FORK_ORACLE = """
import os
GUESS = {}
def square(x):
    return GUESS.get(x, x + 2)
for candidate in range(20):
    pid = os.fork()
    if pid == 0:
        GUESS[3] = candidate  # this copy goes on to the test with a guess
        break
    if os.waitpid(pid, 0)[1] == 0:  # that guess passed, and its copy wrote the marker
        os._exit(0)
"""


def test_forked_copies_cannot_use_the_test_as_an_oracle(sandbox_url):
    verdict = script_verdict(sandbox_url, FORK_ORACLE)
    assert not verdict["passed"] and "os.fork" in verdict["stderr_tail"], verdict


FAKE_MATH = "class _M:\n    def isclose(self, *args, **kwargs):\n        return True\nmath = _M()\n"


@pytest.mark.parametrize("test", ["result = square(3)\nassert math.isclose(result, 9)\n",
                                  "assert math.isclose(square(3), 9)\n"], ids=["script", "as a call"])
def test_a_test_relying_on_the_programs_import_gets_the_real_module(sandbox_url, test):
    assert script_verdict(sandbox_url, "import math\ndef square(x):\n    return x * x\n", test=test)["passed"]
    verdict = script_verdict(sandbox_url, FAKE_MATH + WRONG, test=test)
    assert not verdict["passed"], verdict


LIAR = "class Anything:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n" \
       "        return False\n    def __lt__(self, other):\n        return True\n    def __bool__(self):\n" \
       "        return True\n    def __sub__(self, other):\n        return 0\n    __hash__ = object.__hash__\n" \
       "class Nine(int):\n    def __eq__(self, other):\n        return True\n"


@pytest.mark.parametrize("test", [
    "assert square(3) == 9\nassert square(2) == 4\n",
    "assert 9 == square(3)\n",
    "assert abs(square(3) - 9) < 1e-9\n",
    "assert square(3) != 5\n",
    "assert square(3)\n",
], ids=["==", "reversed ==", "abs difference", "!=", "truth"])
def test_lying_values_earn_nothing_against_assert_of_a_call(sandbox_url, test):
    assert script_verdict(sandbox_url, "def square(x):\n    return x * x\n", test=test)["passed"]
    verdict = script_verdict(sandbox_url, LIAR + "def square(x):\n    return Anything()\n", test=test)
    assert not verdict["passed"], verdict
    nine = script_verdict(sandbox_url, LIAR + "def square(x):\n    return Nine(5)\n", test=test)
    assert nine["passed"] == (test == "assert square(3)\n"), nine  # an int subclass counts as the int it holds
