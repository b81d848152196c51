"""A run's child, in this process: how a returned value becomes JSON (a value cannot steer its own encoding),
and how a tested name is found in the program."""

from __future__ import annotations

import collections
import enum
import json
import subprocess
import sys

import pytest

from sandbox.scripts import decode
from sandbox.worker.child import _function, encode


class Liar(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__

    def __repr__(self):
        return "42"


def test_plain_values_are_json_of_exact_builtin_types():
    value = {"a": [1, 2.5, None, True, "é"], "b": (1, 2), "c": float("inf")}
    assert json.loads(encode(value)) == {"a": [1, 2.5, None, True, "é"], "b": [1, 2], "c": float("inf")}


@pytest.mark.parametrize("value", [Liar(7), [Liar(7)], {"k": Liar(7)}, collections.Counter(a=1), {1: 2}, {1, 2}])
def test_plain_values_refuse_subclasses_sets_and_other_keys(value):
    with pytest.raises(TypeError):
        encode(value)


def test_typed_values_read_subclasses_by_their_base_types_own_methods():
    class Colour(enum.IntEnum):
        RED = 1

    point = collections.namedtuple("Point", "x y")(Liar(7), 2)
    encoded = encode([point, {1, 2}, frozenset(), collections.Counter(a=Colour.RED), (1,)], typed=True)
    assert decode("[" + encoded + "]") == [[(7, 2), {1, 2}, frozenset(), {"a": 1}, (1,)]]  # 7, not the lie


def test_deep_nesting_is_refused():
    value: list = []
    for _ in range(70):
        value = [value]
    with pytest.raises(ValueError, match="nested too deeply"):
        encode(value)


def test_a_tested_name_is_a_function_or_a_method_of_an_instance():
    class Solution:
        def twice(self, x):
            return 2 * x

    program = {"Solution": Solution, "half": lambda x: x / 2}
    assert _function(program, "Solution.twice")(4) == 8 and _function(program, "half")(4) == 2
    with pytest.raises(KeyError):
        _function(program, "missing")


def test_limits_bound_the_run():
    """set_limits in a child of its own (rlimits cannot be raised again in this process)."""
    script = ("from sandbox.worker.child import set_limits\nimport resource\n"
              "set_limits({'cpu_s': 1.5, 'memory_mb': 100, 'pids': 7}, disk_mb=3)\n"
              "print([resource.getrlimit(r) for r in (resource.RLIMIT_CPU, resource.RLIMIT_DATA,"
              " resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC, resource.RLIMIT_CORE)])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    mb = 1024 * 1024
    assert out.strip() == str([(2, 3), (100 * mb, 100 * mb), (3 * mb, 3 * mb), (8, 8), (0, 0)])
