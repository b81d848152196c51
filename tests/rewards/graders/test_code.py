"""The code grader through the real reward service and the real sandbox (both started as `rlvr` commands)."""

import json

import httpx
import pytest

from rewards.graders.codeextract import extract
from tests.procs import free_port, launch

SQUARE_TESTS = {"tests": [{"type": "call", "fn_name": "square", "args": [n], "expected": n * n} for n in (2, 3, 4)]}


@pytest.fixture(scope="module")
def sandbox():
    with launch(["sandbox", "--workers", "2"], free_port()) as url:
        yield url


@pytest.fixture(scope="module")
def server(sandbox):
    with launch(["serve", "--workers", "1", "--sandbox-url", sandbox], free_port()) as url:
        yield url


def score_batch(server, grader, items):
    r = httpx.post(server + "/v1/score/batch", json={"grader": grader, "items": items}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def fenced(code, tag="python"):
    return f"Here is my solution:\n```{tag}\n{code}\n```\nDone."


def test_last_fence_and_whole_work_as_before():
    text = "```python\na = 1\n```\ntext\n```bash\necho hi\n```\n```py\nb = 2\n```\n"

    def last(completion, language):
        return extract(completion, language=language, mode="last_fence").code

    assert last(text, "python") == "b = 2\n"
    assert last(text, "bash") == "echo hi\n"
    assert last("```\nplain\n```", "cpp") == "plain\n"
    assert last("no fences", "python") == "no fences"
    assert extract(text, language="python", mode="whole").code == text


def test_fraction_and_all_or_nothing(server):
    items = [
        {"completion": fenced("def square(x):\n    return x * x"), "reference": SQUARE_TESTS},
        {"completion": fenced("def square(x):\n    return x + 2"), "reference": SQUARE_TESTS},
        {"completion": "I don't know.", "reference": SQUARE_TESTS},
    ]
    fraction = score_batch(server, {"type": "code"}, items)
    assert [r["reward"] for r in fraction] == pytest.approx([1.0, 1 / 3, 0.0])
    assert all(r["error"] is None for r in fraction)
    wrong = fraction[1]["details"]
    assert wrong["statuses"] == ["passed", "wrong_answer", "wrong_answer"]
    assert wrong["first_failure"]["index"] == 1 and "returned 5" in wrong["first_failure"]["reason"]
    strict = score_batch(server, {"type": "code", "scoring": "all_or_nothing"}, items)
    assert [r["reward"] for r in strict] == [1.0, 0.0, 0.0]
    assert strict[1]["details"]["statuses"] == ["passed", "wrong_answer", "skipped"]


def test_runtime_error_stderr_tail_in_details(server):
    item = {"completion": fenced("def square(x):\n    raise KeyError('boom')"), "reference": SQUARE_TESTS}
    (result,) = score_batch(server, {"type": "code"}, [item])
    assert result["reward"] == 0.0 and result["error"] is None
    assert "KeyError: 'boom'" in result["details"]["first_failure"]["stderr_tail"]


def test_io_and_script_tests_with_prefix_and_suffix_in_cpp_and_python(server):
    cpp = {"completion": fenced("int main(){ long a, b; std::cin >> a >> b; std::cout << a * b; }", "cpp"),
           "reference": {"prefix": "#include <iostream>\n",
                         "tests": [{"type": "io", "stdin": "6 7", "expected_stdout": "42"},
                                   {"type": "io", "stdin": "2 2", "expected_stdout": "5"}]}}
    (result,) = score_batch(server, {"type": "code", "language": "cpp"}, [cpp])
    assert result["reward"] == 0.5
    human_eval_like = {
        "completion": fenced("    return [x for x in xs if x > 0]", ""),
        "reference": {"prefix": "def positive(xs):\n", "suffix": "\n",
                      "tests": [{"type": "script", "code": "def check(c):\n    assert c([1, -2, 3]) == [1, 3]\n"
                                                           "check(positive)\n"}]},
    }
    (result,) = score_batch(server, {"type": "code"}, [human_eval_like])
    assert result["reward"] == 1.0, result


def test_exiting_early_earns_nothing(server):
    item = {"completion": fenced("import sys\ndef square(x):\n    return 0\nsys.exit(0)"),
            "reference": {"tests": [{"type": "script", "code": "assert square(3) == 9"}]}}
    (result,) = score_batch(server, {"type": "code", "extract": "last_fence"}, [item])
    assert result["reward"] == 0.0 and result["details"]["statuses"] == ["incomplete"]
    (result,) = score_batch(server, {"type": "code"}, [item])  # auto leaves the top-level exit out: a real fail
    assert result["reward"] == 0.0 and result["details"]["statuses"] == ["runtime_error"]


def test_a_batch_runs_concurrently_and_keeps_order(server):
    items = [{"completion": fenced(f"def square(x):\n    return x * x if {i % 3} else -1"), "reference": SQUARE_TESTS}
             for i in range(24)]
    rewards = [r["reward"] for r in score_batch(server, {"type": "code"}, items)]
    assert rewards == [0.0 if i % 3 == 0 else 1.0 for i in range(24)]


def test_a_batch_spreads_over_several_sandboxes_and_skips_samples_without_code(sandbox):
    with launch(["sandbox", "--workers", "1"], free_port()) as second, \
            launch(["serve", "--workers", "1", "--sandbox-url", sandbox, "--sandbox-url", second], free_port()) as srv:
        before = [httpx.get(url + "/healthz", timeout=10).json()["jobs"] for url in (sandbox, second)]
        items = [{"completion": fenced(f"def square(x):  # try {i}\n    return x * x + {i % 2}"),
                  "reference": SQUARE_TESTS} for i in range(12)]  # all different: the reward cache grades repeats once
        items[5] = {"completion": fenced("   "), "reference": SQUARE_TESTS}
        results = score_batch(srv, {"type": "code", "extract": "last_fence"}, items)
        after = [httpx.get(url + "/healthz", timeout=10).json()["jobs"] for url in (sandbox, second)]
    assert [r["reward"] for r in results] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert results[5]["details"]["reason"] == "no code in the completion"
    assert all(b > a for a, b in zip(before, after, strict=True)), (before, after)
    assert sum(after) - sum(before) == 11  # the sample without code never went to a sandbox


def test_bad_reference_and_unknown_language_are_errors_not_zeros(server):
    item = {"completion": fenced("print(1)"), "reference": {"tests": []}}
    (result,) = score_batch(server, {"type": "code"}, [item])
    assert result["error"] and "invalid code reference" in result["error"]
    item = {"completion": "x", "reference": SQUARE_TESTS}
    (result,) = score_batch(server, {"type": "code", "language": "cobol"}, [item])
    assert result["error"] and "unknown language" in result["error"]


def test_sandbox_down_is_an_error_never_a_silent_zero():
    dead = f"http://127.0.0.1:{free_port()}"
    with launch(["serve", "--workers", "1", "--sandbox-url", dead], free_port()) as server:
        item = {"completion": fenced("def square(x):\n    return x * x"), "reference": SQUARE_TESTS}
        (result,) = score_batch(server, {"type": "code"}, [item])
    assert result["error"] and "unavailable" in result["error"] and result["reward"] == 0.0


def test_serve_starts_its_own_sandbox():
    with launch(["serve", "--workers", "1"], free_port()) as server:
        item = {"completion": fenced("def square(x):\n    return x * x"), "reference": SQUARE_TESTS}
        (result,) = score_batch(server, {"type": "code"}, [item])
    assert result["reward"] == 1.0 and result["error"] is None, result


def test_one_unsendable_sample_does_not_fail_the_others(server):
    """A lone surrogate arrives fine as escaped JSON, but no UTF-8 request body can carry it on to the sandbox."""
    surrogate = {"completion": fenced("def square(x):\n    return x * x  # \ud800"), "reference": SQUARE_TESTS}
    items = [surrogate, {"completion": fenced("def square(x):\n    return x * x"), "reference": SQUARE_TESTS}]
    body = json.dumps({"grader": {"type": "code"}, "items": items})  # ensure_ascii: the surrogate as \ud800
    r = httpx.post(server + "/v1/score/batch", content=body, headers={"content-type": "application/json"},
                   timeout=120)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["reward"] for x in results] == [1.0, 1.0] and not any(x["error"] for x in results), results


ADD_TESTS = {"tests": [{"type": "script", "code": "assert add([1, 2]) == 3\nassert add([]) == 0\n"}]}


def test_auto_finds_the_answer_among_blocks_and_drops_self_tests(server):
    """Solution, then its own failing self-test and a __main__ block reading input: only the solution runs."""
    completion = ("```python\ndef add(xs):\n    return sum(xs)\n```\nTests:\n```python\nassert add([1]) == 2\n```\n"
                  "```python\nif __name__ == '__main__':\n    print(add(map(int, input().split())))\n```")
    (result,) = score_batch(server, {"type": "code"}, [{"completion": completion, "reference": ADD_TESTS}])
    assert result["reward"] == 1.0, result
    assert result["details"]["extraction"]["blocks"] == [{"index": 0, "reasons": ["defines add (the tests use it)"]}]
    (old,) = score_batch(server, {"type": "code", "extract": "last_fence"},
                         [{"completion": completion, "reference": ADD_TESTS}])
    assert old["reward"] == 0.0


def test_two_alternatives_that_pass_only_combined_earn_nothing(server):
    """Block 0's add with block 1's helper passes; neither block does alone, and they are never mixed."""
    first = "def helper(xs):\n    return 0\n\ndef add(xs):\n    return sum(xs) + helper(xs)\n"
    second = "def helper(xs):\n    return sum(xs)\n\ndef add(xs):\n    return helper(xs) * 2\n"
    combined = "def helper(xs):\n    return 0 * sum(xs)\n\ndef add(xs):\n    return sum(xs) + helper(xs)\n"
    items = [{"completion": f"```python\n{first}```\nOr:\n```python\n{second}```\n", "reference": ADD_TESTS},
             {"completion": f"```python\n{combined}```", "reference": ADD_TESTS}]
    results = score_batch(server, {"type": "code"}, items)
    assert [r["reward"] for r in results] == [0.0, 1.0], results  # the combination itself would pass


def test_code_quoted_from_the_prompt_earns_nothing(server):
    prompt = "This add is correct:\n```python\ndef add(xs):\n    return sum(xs)\n```\nRewrite it without sum()."
    quoted = "Sure. For reference, the original:\n```python\ndef add(xs):\n    return sum(xs)\n```\n"
    mine = "```python\ndef add(xs):\n    return len(xs)\n```\n" + quoted
    items = [{"prompt": prompt, "completion": quoted, "reference": ADD_TESTS},
             {"prompt": prompt, "completion": mine, "reference": ADD_TESTS}]
    results = score_batch(server, {"type": "code"}, items)
    assert [r["reward"] for r in results] == [0.0, 0.0], results
    assert "defines none" in results[0]["details"]["reason"]
    assert results[1]["details"]["statuses"] == ["runtime_error"]  # its own add ran, and failed


def test_a_retracted_version_is_not_the_answer(server):
    """The model retracts a correct version for a wrong one: the later (wrong) one is judged."""
    completion = ("```python\ndef add(xs):\n    return sum(xs)\n```\nWait, that is wrong; it must skip the first:\n"
                  "```python\ndef add(xs):\n    return sum(xs[1:])\n```\nExample:\n```python\nprint(add([1, 2]))\n```")
    (result,) = score_batch(server, {"type": "code"}, [{"completion": completion, "reference": ADD_TESTS}])
    assert result["reward"] == 0.0 and result["details"]["extraction"]["blocks"][0]["index"] == 1, result


def test_continuation_joins_the_prompt_and_stops_at_the_next_top_level_statement(server):
    reference = {"prefix": 'def add(xs):\n    """Sum."""\n', **ADD_TESTS}
    completion = "    return sum(xs)\n\n\nprint(add([1, 2]))\nadd = None\ndef broken(:"
    (result,) = score_batch(server, {"type": "code", "extract": "continuation"},
                            [{"completion": completion, "reference": reference}])
    assert result["reward"] == 1.0, result
    (whole,) = score_batch(server, {"type": "code", "extract": "whole"},
                           [{"completion": completion, "reference": reference}])
    assert whole["reward"] == 0.0


def test_cpp_program_split_over_blocks_with_a_shell_block_last(server):
    completion = ("Includes:\n```cpp\n#include <iostream>\n```\nThe helper:\n```cpp\nlong twice(long n) { return 2 * n; }\n"
                  "```\nMain:\n```cpp\nint main() { long n; std::cin >> n; std::cout << twice(n); }\n```\n"
                  "Build and run:\n```bash\ng++ main.cpp && ./a.out < in.txt\n```")
    reference = {"tests": [{"type": "io", "stdin": "21", "expected_stdout": "42"}]}
    (result,) = score_batch(server, {"type": "code", "language": "cpp"},
                            [{"completion": completion, "reference": reference}])
    assert result["reward"] == 1.0, result
    assert [b["index"] for b in result["details"]["extraction"]["blocks"]] == [0, 1, 2]


def test_javascript_script_test_takes_the_latest_definition_and_its_helper(server):
    completion = ("```js\nfunction twice(n) { return n; }\n```\nFixed, with a helper:\n```javascript\n"
                  "const double = (n) => 2 * n;\nfunction twice(n) { return double(n); }\nconsole.log(twice(3));\n"
                  "process.exit(1);\n```")
    reference = {"tests": [{"type": "script", "code": "if (twice(21) !== 42) process.exit(1);"}]}
    (result,) = score_batch(server, {"type": "code", "language": "javascript"},
                            [{"completion": completion, "reference": reference}])
    assert result["reward"] == 1.0, result


def test_finding_the_program_runs_under_a_budget_and_past_it_earns_a_timeout_zero(server):
    chain = "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(8000))
    completion = fenced(f"{chain}def f8000(x):\n    return sum(x)\ndef add(xs):\n    return f0(xs)")
    slow, quick = score_batch(server, {"type": "code", "extract_budget_s": 0.05}, [
        {"completion": completion, "reference": ADD_TESTS},
        {"completion": fenced("def add(xs):\n    return sum(xs)"), "reference": ADD_TESTS}])
    assert slow["reward"] == 0.0 and slow["error"] is None and slow["details"]["timeout"] is True, slow
    assert quick["reward"] == 1.0, quick
