"""Output and value comparison rules of the judge (pure functions)."""

import math

from sandbox.compare import stdout_matches, values_equal
from sandbox.models import Limits


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
    assert values_equal([1, 2.0000000001, {"a": None}], [1, 2, {"a": None}], 1e-9)
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
