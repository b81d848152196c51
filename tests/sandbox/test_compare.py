"""Output and value comparison rules of the judge (pure functions)."""

import math

import pytest

from sandbox.compare import parse_value, stdout_matches, values_equal
from sandbox.models import Limits
from tests.sandbox.conftest import judge


def test_whitespace_ignores_trailing_space_and_blank_lines_only():
    assert stdout_matches("1 2  \n3\n\n", "1 2\n3", "whitespace", 0)
    assert not stdout_matches("1  2\n3", "1 2\n3", "whitespace", 0)
    assert not stdout_matches("1\n2", "1 2", "whitespace", 0)


def test_exact_is_exact():
    assert stdout_matches("a\n", "a\n", "exact", 0)
    assert not stdout_matches("a", "a\n", "exact", 0)


def test_float_tokens_with_tolerance():
    assert stdout_matches("0.3333333 x\n2", "0.33333333 x 2.0", "float", 1e-6)
    assert not stdout_matches("0.34 x 2", "0.33 x 2", "float", 1e-6)
    assert not stdout_matches("0.3 y", "0.3 x", "float", 1e-6)
    assert not stdout_matches("1 2 3", "1 2", "float", 1e-6)


def test_values_strict_on_types_tolerant_on_floats():
    assert values_equal([1, 2.0000000001, {"a": None}], [1, 2.0, {"a": None}], 1e-9)
    assert not values_equal(1, True, 1e-9) and not values_equal(True, 1, 1e-9)
    assert not values_equal("1", 1, 1e-9)
    assert not values_equal([1, 2], [1, 2, 3], 1e-9)
    assert not values_equal({"a": 1}, {"a": 1, "b": 2}, 1e-9)
    assert values_equal(math.nan, math.nan, 0)
    assert values_equal([1, 2], (1, 2), 0)


def test_limits_are_capped_by_the_server_maxima():
    maxima = Limits(wall_s=5, memory_mb=256, output_kb=64, pids=8)
    capped = Limits(wall_s=100, memory_mb=9999, output_kb=10**6, pids=1000).capped(maxima)
    assert (capped.wall_s, capped.cpu_s, capped.memory_mb, capped.output_kb, capped.pids) == (5, 5, 256, 64, 8)
    assert Limits(wall_s=2).capped(maxima).cpu_s == 2


@pytest.mark.parametrize(("actual", "expected"), [
    (1000000008, 1000000007),  # off by one within a relative float tolerance
    (int(10**12 * (10**12 + 1) / 2), 10**12 * (10**12 + 1) // 2),  # float rounding, off by 19,757,056
    (1.0000000001, 1),  # an integer expected: the float must be exactly that integer
    ([1, 2.0000000001], [1, 2]),
    ({"n": 10**18 + 1}, {"n": 10**18}),
])
def test_integers_compare_exactly(actual, expected):
    assert not values_equal(actual, expected, 1e-6)


@pytest.mark.parametrize(("actual", "expected"), [
    (1000000007, 1000000007), (10**30, 10**30), (5.0, 5), (2, 2.0), (0.30000000000000004, 0.3),
    ([1, [2.0000000001]], [1, [2.0]]), (math.inf, math.inf),
])
def test_equal_values_still_pass(actual, expected):
    assert values_equal(actual, expected, 1e-9)


@pytest.mark.parametrize(("actual", "expected"), [
    (10**400, 1.5), (10**400, 1), (-(10**400), 1e308), ([10**400], [1.0]), ({"a": 10**400}, {"a": math.inf}),
    (10**400, math.nan),
], ids=["float", "int", "negative", "list", "inf", "nan"])
def test_an_int_beyond_float_range_is_unequal_not_an_error(actual, expected):
    assert not values_equal(actual, expected, 1e-9)


def test_deep_nesting_neither_recurses_nor_raises():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert values_equal(deep, deep, 0)
    assert not values_equal(deep, [[0]], 0)
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_value("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError):
        parse_value("1" * 5000)  # more digits than Python reads from text: unreadable, a wrong answer
    assert math.isnan(parse_value("NaN")) and parse_value("[Infinity]") == [math.inf]


@pytest.mark.parametrize(("actual", "expected", "passes"), [
    ("1000000008", "1000000007", False),
    ("500000000000500000000000", "500000000000500000000000", True),
    ("500000000000500019757056", "500000000000500000000000", False),
    ("42.0 x", "42 x", True),  # an integer token: exactly its value, however written
    ("42.0000001", "42", False),
    ("4.2e1", "42", True),
    ("1e999999999999999999999", "1", False),
    ("1" * 5000, "1" * 5000, True),  # no int conversion limit
    ("nan", "42", False),
    ("42", "42.0", True),  # a float token: within the tolerance
    ("42.0000001", "42.0", True),
    ("1e400 inf", "inf 1e999", True),
    ("abc", "42", False),
])
def test_float_mode_is_exact_on_integer_tokens(actual, expected, passes):
    assert stdout_matches(actual, expected, "float", 1e-6) is passes


def test_unreadable_returned_values_are_wrong_answers(sandbox_url):
    code = ("def big():\n    return 10 ** 400\n\n"
            "def off():\n    return 1000000008\n\n"
            "def nan():\n    return float('nan')\n\n"
            "def deep():\n    v = []\n    for _ in range(100):\n        v = [v]\n    return v\n")
    tests = [{"type": "call", "fn_name": "big", "args": [], "expected": 1.5},
             {"type": "call", "fn_name": "big", "args": [], "expected": 10**400},
             {"type": "call", "fn_name": "off", "args": [], "expected": 1000000007},
             {"type": "call", "fn_name": "nan", "args": [], "expected": 1},
             {"type": "call", "fn_name": "deep", "args": [], "expected": []}]
    body = judge(sandbox_url, code, tests)
    assert [t["status"] for t in body["tests"]] == ["wrong_answer", "passed", "wrong_answer", "wrong_answer",
                                                     "runtime_error"], body  # the harness refuses depth > 64
    assert body["passed"] == 1
