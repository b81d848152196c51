"""Finding the program in a completion (rewards.graders.codeextract): pure functions, nothing is run."""

import ast
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.graders.codeextract import extract
from rewards.graders.codeextract.continuation import split_body
from rewards.graders.codeextract.fences import find_blocks, normalize_tag
from rewards.graders.codeextract.python import names_used_by_test, parse_block

PREFIX = 'from typing import List\n\n\ndef add(xs: List[int]) -> int:\n    """Sum of xs."""\n'
SCRIPT = [{"type": "script", "code": "def check(candidate):\n    assert candidate([1, 2]) == 3\n\ncheck(add)\n"}]
CALL = [{"type": "call", "fn_name": "add", "args": [[1, 2]], "expected": 3}]
IO = [{"type": "io", "stdin": "3", "expected_stdout": "6"}]
SOLUTION = "def add(xs):\n    return sum(xs)\n"


def auto(completion, tests=SCRIPT, prefix=PREFIX, prompt="", language="python", mode="auto"):
    return extract(completion, language=language, mode=mode, tests=tests, prefix=prefix, prompt=prompt)


def defined(code):
    """Top-level names a program defines, in order."""
    return [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def body_of(code, name):
    fn = next(n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return ast.unparse(fn.body[-1])


# fences


def test_fences_closed_unclosed_indented_and_bracket_tags():
    text = ("a\n```Python3 title='x.py'\nx = 1\n```\n  ```py\n  y = 2\n    z = 3\n  ```\n"
            "[PYTHON]\nw = 4\n[/PYTHON]\n~~~\nv = 5\n~~~\n```python\nu = 6\n")
    blocks = find_blocks(text)
    assert [(b.tag, b.body, b.closed) for b in blocks] == [
        ("python3", "x = 1\n", True), ("py", "y = 2\n  z = 3\n", True), ("python", "w = 4\n", True),
        ("", "v = 5\n", True), ("python", "u = 6\n", False)]
    assert all(b.is_language("python") for b in blocks if b.tag)
    assert normalize_tag("{.python}") == "python" and normalize_tag("") == ""


def test_a_fence_of_four_backticks_holds_a_fence_of_three():
    (block,) = find_blocks("````markdown\n```python\nx = 1\n```\n````\n")
    assert block.tag == "markdown" and block.body == "```python\nx = 1\n```\n"


# python analysis


def test_a_block_that_does_not_parse_loses_only_its_broken_statements():
    parsed = parse_block("import os\nOutput: the sum is\ndef f(x):\n    return x\nprint(f(", 0)
    assert [u.kind for u in parsed.units] == ["import", "def"]
    assert parsed.broken == ["Output: the sum is\n", "print(f("]
    parsed = parse_block("def f(x):\n    return x\ndef g(x):\n    return (x +\n", 0)
    assert [u.kind for u in parsed.units] == ["def"] and parsed.broken_defs == {"g": 1}


def test_a_statement_with_column_zero_continuation_lines_is_kept_whole():
    parsed = parse_block('s = """\nhello\n"""\nd = {\n"a": 1,\n}\n', 0)
    assert [u.defines for u in parsed.units] == [{"s"}, {"d"}]


def test_free_names_are_what_a_function_needs_from_outside():
    (unit,) = parse_block("def f(xs, k=K):\n    total = 0\n    for x in xs:\n        total += helper(x)\n"
                          "    return [y for y in ys if y] + total\n", 0).units
    assert unit.uses == {"K", "helper", "ys"}


def test_names_a_script_test_uses():
    assert names_used_by_test(SCRIPT[0]["code"]) == {"add"}
    assert names_used_by_test("import math\nassert math.isclose(area(2), 4)\nMETA = 1\n") == {"area"}


# the program the completion presents (auto)


def test_single_fence_with_a_usage_example_left_out():
    found = auto(f"Here:\n```python\n{SOLUTION}\n# Example usage:\nprint(add([1, 2]))\n```\nDone.")
    assert found.code.strip() == SOLUTION.strip()
    assert found.details["blocks"] == [{"index": 0, "reasons": ["defines add (the tests use it)"]}]
    assert found.details["dropped"][0]["why"] == "top-level usage or self-test"


def test_unclosed_fence_cut_off_after_the_solution():
    found = auto(f"```python\n{SOLUTION}\nif __name__ == '__main__':\n    print(add([1,")
    assert found.code.strip() == SOLUTION.strip() and found.details["unclosed_fence"] is True


def test_last_block_is_not_the_solution():
    completion = (f"```python\n{SOLUTION}```\nTests:\n```python\nimport unittest\nclass T(unittest.TestCase):\n"
                  "    def test(self):\n        self.assertEqual(add([1]), 1)\nunittest.main()\n```\n"
                  "Run it:\n```bash\npython solution.py\n```\n```python\nn = int(input())\nprint(add([n]))\n```")
    found = auto(completion)
    assert defined(found.code) == ["add"] and "input" not in found.code and "unittest" not in found.code
    assert [b["index"] for b in found.details["blocks"]] == [0]


def test_solution_split_across_blocks_with_imports_apart():
    completion = ("First the imports:\n```python\nimport math\nfrom collections import Counter\n```\n"
                  "A helper:\n```python\ndef helper(xs):\n    return math.fsum(xs)\n```\n"
                  "And the function:\n```python\ndef add(xs):\n    return int(helper(xs))\n```\n")
    found = auto(completion)
    assert defined(found.code) == ["helper", "add"] and "import math" in found.code
    assert "Counter" not in found.code
    assert [b["index"] for b in found.details["blocks"]] == [0, 1, 2]


def test_corrected_version_wins_even_when_not_the_last_block():
    completion = ("```python\ndef add(xs):\n    return 0\n```\nMy first attempt was wrong. Fixed:\n"
                  f"```python\n{SOLUTION}```\nExample:\n```python\nprint(add([1, 2]))\n```\n")
    found = auto(completion)
    assert body_of(found.code, "add") == "return sum(xs)"
    assert {"block": 0, "what": "def add(xs):", "why": "superseded by the definition in block 1"} in \
        found.details["dropped"]


def test_two_alternative_versions_are_never_mixed():
    """Block 0's add with block 1's helper would pass; each block alone does not: take block 1 whole."""
    first = "def helper(x):\n    return 0\n\ndef add(xs):\n    return sum(xs) + helper(xs)\n"
    second = "def helper(x):\n    return sum(x)\n\ndef add(xs):\n    return helper(xs) * 2\n"
    found = auto(f"```python\n{first}```\nAlternatively:\n```python\n{second}```\n")
    assert found.code.strip() == second.strip()


def test_a_later_version_keeps_the_helpers_only_the_earlier_block_defines():
    first = "def helper(x):\n    return sum(x)\n\ndef add(xs):\n    return 0\n"
    found = auto(f"```python\n{first}```\nOops, add ignores helper:\n```python\ndef add(xs):\n"
                 "    return helper(xs)\n```\n")
    assert defined(found.code) == ["helper", "add"] and body_of(found.code, "add") == "return helper(xs)"


def test_a_broken_later_version_is_not_replaced_by_the_retracted_one():
    found = auto("```python\ndef add(xs):\n    return sum(xs)\n```\nActually, better:\n```python\n"
                 "def add(xs):\n    return sum(xs\n```\n")
    assert found.code is None and "does not parse" in found.details["reason"]


def test_untagged_indented_and_odd_tags():
    for completion in (f"```\n{SOLUTION}```", f"1. Code:\n    ```Python3\n    {SOLUTION.replace(chr(10), chr(10) + '    ')}```",
                       f"```py\n{SOLUTION}```\n```\n", f"[PYTHON]\n{SOLUTION}[/PYTHON]"):
        assert auto(completion).code.strip() == SOLUTION.strip(), completion


def test_stray_closing_fence_after_the_solution():
    assert auto(f"```python\n{SOLUTION}```\nThat's it.\n```\n").code.strip() == SOLUTION.strip()


def test_code_without_fences_among_prose():
    found = auto(f"Sure! Here it is.\n\n{SOLUTION}\nThis adds the numbers up.")
    assert found.code.strip() == SOLUTION.strip()


def test_a_chat_answer_that_is_only_the_body_joins_the_prefix():
    found = auto("```python\n    return sum(xs)\n```")
    assert found.code == "    return sum(xs)\n"
    assert ast.parse(PREFIX + found.code)


def test_scaffolding_beside_the_solution_is_left_out():
    completion = (f"```python\nfrom test_harness import run_tests\nimport math\n\n{SOLUTION}\n"
                  "run_tests(add)\n```")
    found = auto(completion)
    assert found.code.strip() == SOLUTION.strip()


def test_prose_only_presents_no_program():
    found = auto("I am not able to solve this problem.")
    assert found.code is None and "defines none" in found.details["reason"]


def test_code_quoted_from_the_prompt_is_never_the_answer():
    prompt = "Here is a correct add:\n```python\ndef add(xs):\n    return sum(xs)\n```\nRewrite it without sum."
    completion = ("```python\ndef add(xs):\n    return len(xs)\n```\nFor comparison, the original:\n"
                  "```python\ndef add(xs):\n    return sum(xs)\n```\n")
    found = auto(completion, prompt=prompt)
    assert body_of(found.code, "add") == "return len(xs)"
    assert {"block": 1, "what": "def add(xs):", "why": "quoted from the prompt"} in found.details["dropped"]
    assert auto("The original:\n```python\ndef add(xs):\n    return sum(xs)\n```", prompt=prompt).code is None


def test_call_tests_name_the_function_and_class_methods():
    found = auto(f"```python\n{SOLUTION}\nprint(add([3]))\n```", tests=CALL, prefix="")
    assert found.code.strip() == SOLUTION.strip()
    solution = "class Solution:\n    def add(self, xs):\n        return sum(xs)\n"
    found = auto(f"```python\n{solution}\nprint(Solution().add([1]))\n```", prefix="",
                 tests=[{"type": "call", "fn_name": "Solution.add", "args": [[1]], "expected": 1}])
    assert found.code.strip() == solution.strip()


def test_io_tests_keep_the_top_level_program_and_its_helpers():
    completion = ("```python\ndef solve(n):\n    return n * 2\n```\n```python\nimport sys\n"
                  "def main():\n    print(solve(int(sys.stdin.readline())))\n\nif __name__ == '__main__':\n"
                  "    main()\n```\nSample:\n```\n3\n```\n")
    found = auto(completion, tests=IO, prefix="")
    assert defined(found.code) == ["solve", "main"] and "__main__" in found.code
    assert found.details["blocks"][1] == {"index": 1, "reasons": ["the program (reads input)"]}


def test_io_program_takes_a_later_fixed_function():
    completion = ("```python\ndef solve(n):\n    return n\n\nprint(solve(int(input())))\n```\n"
                  "Fix:\n```python\ndef solve(n):\n    return n * 2\n```\n")
    code = auto(completion, tests=IO, prefix="").code
    assert body_of(code, "solve") == "return n * 2" and code.index("def solve") < code.index("print(")


# continuation


def test_bare_continuation_is_cut_at_the_first_new_top_level_statement():
    completion = "    total = 0\n    for x in xs:\n        total += x\n    return total\n\n\ndef main():\n" \
                 "    print(add([1]))\n\nif __name__"
    found = auto(completion, mode="continuation")
    assert found.code.rstrip() == completion.split("\n\n\ndef")[0]
    assert found.details["joined_to_prefix"] == "add"


def test_continuation_keeps_a_later_helper_the_body_calls_and_drops_the_rest():
    completion = "    return helper(xs)\n\n\ndef helper(xs):\n    return sum(xs)\n\nprint(add([1]))\ndef junk(:"
    code = auto(completion, mode="continuation").code
    assert "def helper" in code and "print" not in code and "junk" not in code


def test_a_body_cut_off_mid_statement_presents_no_program():
    found = auto("    total = sum(xs\n", mode="continuation")
    assert found.code is None and "does not parse" in found.details["reason"]
    assert isinstance(split_body("def f():\n", "    return (1 +\n"), str)
    assert split_body("x = 1\n", "    return 1\n") is None


def test_continuation_that_restates_the_function_is_read_as_an_answer():
    found = auto(f"{SOLUTION}\n\nprint(add([1]))", mode="continuation")
    assert found.code.strip() == SOLUTION.strip()


# other languages (tree-sitter)


CPP_MAIN = "#include <iostream>\nint twice(int n) { return 2 * n; }\nint main() { int n; std::cin >> n; " \
           "std::cout << twice(n); }\n"


def test_cpp_io_takes_the_block_with_main_and_includes_from_elsewhere():
    completion = ("```cpp\n#include <vector>\n```\n```cpp\nint twice(int n) { return 2 * n; }\n```\n"
                  "```cpp\nint main() { int n; std::cin >> n; std::cout << twice(n); }\n```\n"
                  "```bash\ng++ a.cpp && ./a.out\n```")
    found = auto(completion, tests=IO, prefix="", language="cpp")
    assert "#include <vector>" in found.code and "int twice" in found.code and "int main" in found.code
    assert "g++" not in found.code


def test_cpp_script_test_takes_the_named_function_without_main():
    tests = [{"type": "script", "code": "int main() { return twice(2) == 4 ? 0 : 1; }"}]
    found = auto(f"```cpp\n{CPP_MAIN}```", tests=tests, prefix="", language="cpp")
    assert "int twice" in found.code and "main" not in found.code


def test_javascript_script_test_takes_the_latest_definition_without_usage():
    completion = ("```js\nfunction twice(n) { return n; }\n```\nFixed:\n```javascript\nconst twice = (n) => 2 * n;\n"
                  "console.log(twice(3));\n```")
    tests = [{"type": "script", "code": "if (twice(2) !== 4) process.exit(1);"}]
    found = auto(completion, tests=tests, prefix="", language="javascript")
    assert "2 * n" in found.code and "console.log" not in found.code and "return n;" not in found.code


def test_bash_io_takes_the_script_that_reads_input():
    completion = "```bash\nread n\necho $((n * 2))\n```\nRun it with:\n```bash\n./run.sh < in.txt\n```"
    found = auto(completion, tests=IO, prefix="", language="bash")
    assert found.code.strip() == "read n\necho $((n * 2))"


@pytest.mark.parametrize("language", ["python", "cpp", "javascript", "bash"])
def test_no_code_at_all_is_no_program(language):
    assert auto("No idea, sorry.", tests=IO, prefix="", language=language).code is None


def test_last_fence_and_whole_modes_are_unchanged():
    text = f"```python\n{SOLUTION}```\n```python\nprint(add([1]))\n```"
    assert auto(text, mode="last_fence").code == "print(add([1]))\n"
    assert auto(text, mode="whole").code == text


def test_a_chat_turn_the_model_writes_itself_ends_its_answer():
    completion = (f"```python\n{SOLUTION}```\nuser\nNow write subtract.\n```python\ndef add(xs):\n"
                  "    return 0\n```\n")
    found = auto(completion)
    assert body_of(found.code, "add") == "return sum(xs)" and found.details["cut_at_turn"] == "user"


def test_a_later_stub_is_the_latest_version_and_presents_no_program():
    found = auto(f"```python\n{SOLUTION}```\nThe complete block:\n```python\nfrom my_tests import run_tests\n\n"
                 'def add(xs):\n    """Sum of xs."""\n\nrun_tests(add)\n```')
    assert found.code is None and "stub" in found.details["reason"]


def test_a_later_placeholder_body_points_back_at_the_earlier_version():
    found = auto(f"```python\n{SOLUTION}```\nThen:\n```python\nfrom my_tests import run_tests\n\n"
                 "def add(xs):\n    # ... implementation as above ...\n\nrun_tests(add)\n```")
    assert found.code.strip() == SOLUTION.strip()


def test_a_body_fragment_in_a_later_block_does_not_replace_a_full_definition():
    found = auto(f"```python\n{SOLUTION}```\nThe key line is:\n```python\n    return sum(xs)\n```")
    assert found.code.strip() == SOLUTION.strip()


def test_in_a_continuation_the_body_wins_over_a_later_redefinition():
    completion = "    return sum(xs)\n\n\ndef add(xs):\n    return 0\n"
    assert auto(completion, mode="continuation").code.rstrip() == "    return sum(xs)"


def test_io_later_fixed_function_brings_its_own_helper():
    completion = ("```python\ndef step(n):\n    return n\n\ndef solve(n):\n    return step(n)\n\n"
                  "print(solve(int(input())))\n```\nFix:\n```python\ndef step(n):\n    return n * 2\n\n"
                  "def solve(n):\n    return step(n)\n```\n")
    code = auto(completion, tests=IO, prefix="").code
    assert defined(code) == ["step", "solve"] and body_of(code, "step") == "return n * 2"


def test_a_base_models_stream_takes_the_first_definition_and_not_what_the_prefix_gives():
    prefix = 'def helper(x):\n    return x\n\n\ndef add(xs):\n    """Sum."""\n'
    completion = ("    return helper(sum(xs))\n\n\ndef helper(x):\n    return 0\n\n\ndef add(xs):\n    return 1\n")
    assert auto(completion, prefix=prefix, mode="continuation").code.rstrip() == "    return helper(sum(xs))"
    mbpp = "def add(xs):\n    return sum(xs)\n\nassert add([1]) == 1\n\"\"\"\nNext task\n\"\"\"\ndef add(xs):\n    pass\n"
    assert auto(mbpp, prefix="", mode="continuation").code.strip() == SOLUTION.strip()


def test_io_a_block_that_feeds_itself_the_sample_is_not_the_program():
    completion = ("```python\nfrom sys import stdin\nn = int(stdin.readline())\nprint(n * 2)\n```\nCheck:\n"
                  "```python\nimport io, sys\nsys.stdin = io.StringIO('3')\nprint(int(input()) * 2)\n```\n")
    found = auto(completion, tests=IO, prefix="")
    assert "StringIO" not in found.code and found.details["blocks"][0]["index"] == 0


def test_cpp_keeps_its_main_when_the_script_test_brings_none():
    tests = [{"type": "script", "code": "static int checked = (twice(2) == 4 ? 0 : (throw 1, 0));"}]
    found = auto(f"```cpp\n{CPP_MAIN}```", tests=tests, prefix="", language="cpp")
    assert "int main" in found.code and "int twice" in found.code


def test_a_stream_skips_a_restated_stub_and_takes_the_first_real_definition():
    completion = ('def add(xs):\n    """Sum of xs."""\n\n\ndef add(xs):\n    return sum(xs)\n```\n\nThis sums.'
                  "\n\ndef add(xs):\n    return 0\n")
    assert auto(completion, prefix="", tests=CALL, mode="continuation").code.strip() == SOLUTION.strip()


def test_a_column_zero_comment_inside_a_body_is_not_a_stop():
    completion = "    total = sum(xs)\n# done summing\n    return total\n\n# usage\nprint(add([1]))\n"
    assert auto(completion, mode="continuation").code.rstrip() == "    total = sum(xs)\n# done summing\n    return total"


def test_an_end_of_sequence_token_ends_the_completion():
    found = auto("    return sum(xs)<|endoftext|>def junk(:", mode="continuation")
    assert found.code.rstrip() == "    return sum(xs)" and found.details["cut_at_eos"] == "<|endoftext|>"
    found = auto(f"```python\n{SOLUTION}```<|im_end|>\n```python\ndef add(xs):\n    return 0\n```")
    assert found.code.strip() == SOLUTION.strip()


def test_io_a_program_block_that_only_defines_is_run_by_a_later_bare_call():
    completion = ("```python\ndef main():\n    print(int(input()) * 2)\n```\nRun it:\n```python\nmain()\n```\n"
                  "Or test it:\n```python\nprint(main.__name__)\n```")
    found = auto(completion, tests=IO, prefix="")
    assert found.code.rstrip().endswith("main()") and "__name__" not in found.code
    assert found.details["blocks"][1]["index"] == 1


def test_markdown_indented_code_among_prose():
    found = auto("Solution:\n\n    n = int(input())\n    print(n * 2)\n\nThat's all.", tests=IO, prefix="")
    assert found.code == "n = int(input())\nprint(n * 2)\n"
    assert auto("Here it is:\n\n" + textwrap.indent(SOLUTION, "    "), prefix="").code.strip() == SOLUTION.strip()


def test_a_fragment_quoted_after_the_solution_is_not_a_broken_version():
    found = auto(f"```python\n{SOLUTION}```\nThe important branch:\n```python\n    else:\n        return 0\n```")
    assert found.code.strip() == SOLUTION.strip()


def test_unfenced_code_counts_only_when_no_block_defines_the_names():
    found = auto(f"```python\nx = 1\n```\nThen:\n\n{SOLUTION}\nDone.")
    assert found.code.strip() == SOLUTION.strip()
    found = auto(f"```python\n{SOLUTION}```\nComplete:\n```python\ndef add(xs):\n    \"\"\"Sum.\"\"\"\n```\n\n{SOLUTION}")
    assert found.code is None


def test_cpp_script_test_naming_a_class_takes_the_class():
    tests = [{"type": "script", "code": "int main() { Solution s; return s.twice(2) == 4 ? 0 : 1; }"}]
    completion = "```cpp\nclass Solution {\npublic:\n    int twice(int x) { return 2 * x; }\n};\nint main() { }\n```"
    found = auto(completion, tests=tests, prefix="", language="cpp")
    assert "class Solution" in found.code and "main" not in found.code


def test_a_precomputed_table_comes_with_the_statements_that_fill_it():
    completion = ("```python\nSQUARES = {}\nfor i in range(10):\n    SQUARES[i] = i * i\nPRIMES = []\n"
                  "PRIMES.append(2)\n\ndef add(xs):\n    return sum(SQUARES[x] for x in xs) + PRIMES[0]\n\n"
                  "for x in range(3):\n    print(SQUARES[x])\nassert add([1]) == 3\n```")
    code = auto(completion).code
    assert "SQUARES[i] = i * i" in code and "PRIMES.append(2)" in code
    assert "print" not in code and "assert" not in code


def test_a_setup_call_comes_with_its_import():
    completion = "```python\nimport sys\nsys.setrecursionlimit(10000)\n\ndef add(xs):\n    return sum(xs)\n```"
    assert auto(completion).code == "import sys\nsys.setrecursionlimit(10000)\n\ndef add(xs):\n    return sum(xs)\n"


def test_io_a_later_snippet_that_only_reads_is_not_the_program():
    completion = ("```python\nn = int(input())\nprint(n * 2)\n```\nFor big inputs read faster:\n"
                  "```python\nimport sys\ndata = sys.stdin.read().split()\n```")
    assert auto(completion, tests=IO, prefix="").code == "n = int(input())\nprint(n * 2)\n"


PIECES = ["```python\n", "```\n", "```py\n", "   ```\n", "Here is the fix:\n", SOLUTION, "    return sum(xs)\n",
          "def add(xs):\n", "    return (xs +\n", "print(add([1]))\n", "if __name__ == '__main__':\n",
          "    main()\n", "import math\n", "def helper(x):\n    return math.sqrt(x)\n", '    """doc"""\n',
          "user\n", "x = [\n", "]\n", "assert add([]) == 0\n", "\n", "n = int(input())\n", "<|endoftext|>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14), st.sampled_from(["auto", "continuation"]),
       st.sampled_from([SCRIPT, CALL, IO]))
def test_whatever_the_text_the_program_found_parses_after_the_prefix(parts, mode, tests):
    found = auto("".join(parts), tests=tests, mode=mode)
    assert found.code is None or ast.parse(PREFIX + found.code)
    assert found.code is not None or found.details.get("reason")


def test_a_reasoning_models_drafts_are_not_its_answer():
    draft = "<think>\nMaybe:\n```python\ndef add(xs):\n    return 0\n```\nNo, use sum.\n</think>\n"
    found = auto(draft + f"Final:\n```python\n{SOLUTION}```")
    assert found.code.strip() == SOLUTION.strip() and found.details["thinking"] == "after </think>"
    found = auto(f"<think>\nLet me try:\n```python\n{SOLUTION}```\nHmm, and then")
    assert found.code is None and "thinking" in found.details["thinking"]
    assert auto(draft + "I could not finish.").code is None


@pytest.mark.parametrize("turn", ["User:", "<|im_start|>user", "### Instruction:", "[INST] next"])
def test_other_spellings_of_a_new_turn(turn):
    found = auto(f"```python\n{SOLUTION}```\n{turn}\nAnother task.\n```python\ndef add(xs):\n    return 0\n```\n")
    assert found.code.strip() == SOLUTION.strip() and found.details["cut_at_turn"] == turn


def test_cpp_code_quoted_from_the_prompt_is_never_taken():
    prompt = "Make this faster:\n```cpp\nint twice(int n) { int s = 0; for (int i = 0; i < 2; i++) s += n; return s; }\n```"
    tests = [{"type": "script", "code": "int main() { return twice(2) == 4 ? 0 : 1; }"}]
    quoted = "```cpp\nint twice(int n) { int s = 0; for (int i = 0; i < 2; i++) s += n; return s; }\n```"
    assert auto(f"Already optimal:\n{quoted}", tests=tests, prefix="", language="cpp", prompt=prompt).code is None
    mine = f"```cpp\nint twice(int n) {{ return n << 1; }}\n```\nversus\n{quoted}"
    assert "n << 1" in auto(mine, tests=tests, prefix="", language="cpp", prompt=prompt).code


# cost: every scan is linear (n log n at worst). The bounds are ten times what a loaded machine needs and a
# tenth of what the quadratic scans took (27-69 s), so they catch the regression, not the machine's speed.


def timed(fn):
    """The result and the CPU seconds it took: a guard against quadratic work, blind to a busy machine."""
    import time
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def test_a_long_body_that_parses_only_whole_is_split_in_a_few_parses():
    body = "    return sum(xs) + len((\n" + "0,\n" * 8000 + "))\n"
    found, seconds = timed(lambda: auto(body, mode="continuation", tests=CALL))
    assert found.code == body and seconds < 10.0
    _, seconds = timed(lambda: auto(body[:-3], mode="continuation", tests=CALL))
    assert seconds < 10.0


def test_many_lines_without_fences_and_long_call_chains_stay_fast():
    _, seconds = timed(lambda: auto("\n" * 60_000 + "x\n" * 20_000, tests=CALL))
    assert seconds < 10.0
    chain = "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(6000))
    found, seconds = timed(lambda: auto(f"```python\n{chain}def f6000(x):\n    return sum(x)\n"
                                        "def add(xs):\n    return f0(xs)\n```", tests=CALL))
    assert "def f5999" in found.code and seconds < 10.0


# deep nesting: analysed without recursion where possible, else dropped with a reason (never an exception)


def test_a_long_expression_next_to_the_answer_does_not_stop_the_analysis():
    terms = "+".join(["1"] * 2000)
    found = auto(f"```python\n{SOLUTION}x = {terms}\n```", tests=CALL)
    assert found.code.strip() == SOLUTION.strip()
    found = auto(f"```python\nprint({terms})\n```", tests=IO)
    assert found.code == f"print({terms})\n"


def test_three_hundred_elif_branches_are_extracted():
    branches = "".join(f"    elif len(xs) == {i}:\n        return sum(xs)\n" for i in range(1, 300))
    code = f"def add(xs):\n    if not xs:\n        return 0\n{branches}    return sum(xs)\n"
    found = auto(f"```python\n{code}```", tests=CALL, prompt="```python\ndef add(xs):\n    pass\n```")
    assert found.code == code


def test_a_latest_version_too_deep_to_analyse_means_no_program():
    deep = "lambda: " * 600 + "1"
    found = auto(f"```python\n{SOLUTION}```\nBetter:\n```python\nadd = {deep}\n```", tests=CALL)
    assert found.code is None and "stub or does not parse" in found.details["reason"]
    assert found.details["dropped"][0]["why"] == "nested too deeply to analyse"
    helper = auto(f"```python\n{SOLUTION}f = {deep}\n```", tests=CALL)
    assert helper.code.strip() == SOLUTION.strip()


# io tests: the latest program-like block is the program, however it writes


@pytest.mark.parametrize("final", [
    "from sys import stdin, stdout\nn = int(stdin.readline())\nstdout.write(str(n * 3) + '\\n')\n",
    "import io, sys\nout = io.StringIO()\nn = int(sys.stdin.readline())\nout.write(str(n * 3))\n"
    "print(out.getvalue())\n",
    "import os, sys\nn = int(sys.stdin.readline())\nos.write(1, str(n * 3).encode())\n",
    "n = int(input())\nsolve(n)\n",
])
def test_io_the_retracted_first_program_is_never_taken(final):
    helper = "```python\ndef solve(n):\n    print(n * 3)\n```\n" if "solve" in final else ""
    completion = (f"First try:\n```python\nn = int(input())\nprint(n * 2)\n```\nWrong. Final:\n{helper}"
                  f"```python\n{final}```\n")
    found = auto(completion, tests=IO)
    assert found.code.endswith(final) and "n * 2" not in found.code


def test_io_a_stringio_fed_to_stdin_is_a_self_test_and_a_reading_snippet_is_not_the_program():
    program = "n = int(input())\nprint(n * 2)\n"
    selftest = "import io, sys\nsys.stdin = io.StringIO('3')\nn = int(input())\nprint(n * 2)\n"
    assert auto(f"```python\n{program}```\nTest:\n```python\n{selftest}```", tests=IO).code == program
    snippet = "data = sys.stdin.read()\n"
    assert auto(f"```python\n{program}```\nOr read with:\n```python\n{snippet}```", tests=IO).code == program


# C++/JS script tests calling several functions: each name's latest definition, never an earlier block whole


def test_cpp_and_js_take_each_tested_name_from_its_latest_definition():
    tests = [{"type": "script", "code": "int main() { return (add(2, 3) == 5 && zeta(1) == 1) ? 0 : 1; }"}]
    completion = ("```cpp\nint add(int a, int b) { return a + b; }\nint zeta(int x) { return x; }\n```\nCorrected add:"
                  "\n```cpp\nint add(int a, int b) { return a * b; }\n```\n")
    found = auto(completion, tests=tests, prefix="", language="cpp")
    assert "a * b" in found.code and "a + b" not in found.code and "int zeta" in found.code
    tests = [{"type": "script", "code": "if (add(2, 3) !== 5 || zeta(1) !== 1) process.exit(1);"}]
    completion = ("```js\nfunction add(a, b) { return a + b; }\nfunction zeta(x) { return x; }\n```\nFixed:\n"
                  "```js\nfunction zeta(x) { return x * 2; }\n```\n")
    found = auto(completion, tests=tests, prefix="", language="javascript")
    assert "x * 2" in found.code and "return x; }" not in found.code and "a + b" in found.code


# a broken latest version: no program, never the older one


@pytest.mark.parametrize("final", [
    "if True:\n    def add(xs):\n        return sum(x for x in xs if x > 0\n",
    "try:\n    import numpy\nexcept ImportError:\n    pass\n\ntry:\n    def add(xs):\n        return sum(xs[1:]\n"
    "except Exception:\n    pass\n",
    "add = lambda xs: sum(x for x in xs if x > 0\n",
    "    def add(xs):\n        return sum(x for x in xs if x > 0\n",
])
def test_a_broken_final_version_means_no_program(final):
    found = auto(f"```python\n{SOLUTION}```\nScrap that, final answer:\n```python\n{final}```\n", tests=CALL)
    assert found.code is None and "does not parse" in found.details["reason"], found.details


def test_an_answer_indented_whole_after_an_open_prefix_is_read_as_its_own_code():
    indented = "    def add(xs):\n        return sum(xs)\n"
    found = auto(f"Here is the function:\n```python\n{indented}```", tests=CALL)
    assert found.code.strip() == SOLUTION.strip()


def test_a_function_shadowing_a_builtin_is_a_dependency():
    found = auto("```python\ndef sum(xs):\n    return 0\n\ndef add(xs):\n    return sum(xs)\n```", tests=CALL)
    assert defined(found.code) == ["sum", "add"]
    found = auto("```python\ndef round(x):\n    return int(x + 0.5)\n```\nThen:\n```python\ndef add(xs):\n"
                 "    return round(sum(xs))\n```", tests=CALL)
    assert defined(found.code) == ["round", "add"]


def test_cpp_io_takes_from_other_blocks_only_includes_and_what_main_names():
    rejected = ("```cpp\n#include <cstdio>\nnamespace { struct Boot { Boot() { puts(\"6\"); _Exit(0); } } boot; }\n"
                "int G = 1;\nint main() { return 0; }\n```\n")
    final = "```cpp\n#include <iostream>\nint main() { int n; std::cin >> n; std::cout << n * 3; }\n```\n"
    found = auto(rejected + "Final:\n" + final, tests=IO, prefix="", language="cpp")
    assert "Boot" not in found.code and "int G" not in found.code and "#include <cstdio>" in found.code
    helpers = "```cpp\n#include <bits/stdc++.h>\nusing namespace std;\ntypedef long long ll;\nnamespace u { int k; }\n```\n"
    found = auto(helpers + "```cpp\nint main() { ll n; cin >> n; cout << 2 * n; }\n```\n", tests=IO, prefix="",
                 language="cpp")
    assert "typedef long long ll;" in found.code and "using namespace std;" in found.code
    assert "namespace u" not in found.code


# blocks not presented as the answer: hidden in an HTML comment, tagged as not code, labelled wrong

WRONG = "def add(xs):\n    return sum(xs[1:])\n"


@pytest.mark.parametrize("hidden", [
    f"<!--\n```python\n{SOLUTION}```\n-->\n",
    f"For contrast, a WRONG version you should NOT use:\n```python\n{SOLUTION}```\n",
    f"Do not use this one:\n\n```python\n{SOLUTION}```\n",
    f"```pseudocode\n{SOLUTION}```\n",
    f"```buggy\n{SOLUTION}```\n",
])
def test_a_block_not_presented_as_the_answer_is_never_taken(hidden):
    found = auto(f"My answer:\n```python\n{WRONG}```\n{hidden}", tests=CALL)
    assert found.code.strip() == WRONG.strip(), found.details


def test_a_correction_after_prose_calling_the_previous_version_wrong_is_taken():
    found = auto(f"```python\n{WRONG}```\nThat version is wrong. The corrected version:\n```python\n{SOLUTION}```",
                 tests=CALL)
    assert found.code.strip() == SOLUTION.strip()
    found = auto(f"```python\n{WRONG}```\nThe first attempt was a buggy solution; use this:\n```python\n{SOLUTION}```",
                 tests=CALL)
    assert found.code.strip() == SOLUTION.strip()


# quotes of the prompt's code: never the answer; a helper the prompt gives may be restated

REFERENCE = "def add(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"


@pytest.mark.parametrize("quote", [
    REFERENCE,
    "if True:\n" + textwrap.indent(REFERENCE, "    "),
    "try:\n" + textwrap.indent(REFERENCE, "    ") + "except Exception:\n    pass\n",
])
def test_the_prompts_own_answer_quoted_is_never_taken(quote):
    prompt = f"Here is a reference implementation:\n```python\n{REFERENCE}```\nAdd type hints to it."
    assert auto(f"```python\n{quote}```", tests=CALL, prompt=prompt).code is None
    lam = "add = lambda xs: sum(xs)\n"
    assert auto(f"```python\n{lam}```", tests=CALL, prompt=f"Here:\n```python\n{lam}```\nRewrite it.").code is None


def test_a_helper_the_prompt_gives_may_be_restated():
    prompt = "You may use this helper:\n```python\ndef is_pos(x):\n    return x > 0\n```\nWrite add(xs)."
    found = auto("```python\ndef is_pos(x):\n    return x > 0\n\ndef add(xs):\n"
                 "    return sum(x for x in xs if is_pos(x))\n```", tests=CALL, prompt=prompt)
    assert defined(found.code) == ["is_pos", "add"]


def test_a_rebinding_that_wraps_the_def_keeps_the_def():
    code = "import functools\n\ndef add(xs):\n    return sum(xs)\n\nadd = functools.lru_cache(add)\n"
    found = auto(f"```python\n{code}```", tests=CALL)
    assert "def add" in found.code and found.code.index("def add") < found.code.index("add = functools")


def test_io_rebinding_input_to_read_stdin_faster_is_the_program_not_a_self_test():
    example = "```python\ns = input()\nprint(s)\n```\n"
    final = "import sys\n\ndef main():\n    input = sys.stdin.read\n    print(int(input()) * 2)\n\nmain()\n"
    assert auto(f"{example}This problem:\n```python\n{final}```", tests=IO).code.split() == final.split()
    faked = "import sys\ninput = lambda: '3'\nn = int(input())\nprint(n * 2)\n"
    assert auto(f"{example}Test:\n```python\n{faked}```", tests=IO).code == "s = input()\nprint(s)\n"


def test_thousands_of_blocks_stay_fast():
    blocks = "".join(f"```python\nx{i} = input()\nprint(x{i})\n```\n" for i in range(3000))
    found, seconds = timed(lambda: auto(blocks, tests=IO))
    assert found.code == "x2999 = input()\nprint(x2999)\n" and seconds < 5.0
    cpp = "".join(f"```cpp\nint f{i}(int x) {{ return f{i + 1}(x); }}\n```\n" for i in range(3000))
    found, seconds = timed(lambda: auto(cpp + "```cpp\nint main() { return f0(1); }\n```\n", tests=IO, prefix="",
                                        language="cpp"))
    assert "int f2999" in found.code and seconds < 5.0
