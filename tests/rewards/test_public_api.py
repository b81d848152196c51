"""The chosen public API: what `rewards` exports, that importing it stays cheap, `verify_math`, and the README's
Python example run as written."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import rewards
from rewards import errors
from rewards.graders import GRADERS
from tests.procs import free_port

REPO = Path(__file__).resolve().parents[2]


def test_every_exported_name_resolves_and_every_spec_and_error_is_exported():
    assert all(getattr(rewards, name) is not None for name in rewards.__all__)
    assert {cls.spec_type.__name__ for cls in GRADERS.values()} <= set(rewards.__all__)
    defined = {name for name, obj in vars(errors).items()
               if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__}
    assert defined <= set(rewards.__all__)
    assert all(issubclass(getattr(errors, name), rewards.RewardsError) for name in defined)
    assert rewards.MathSpec is GRADERS["math"].spec_type and rewards.Score is rewards.types.Score


async def test_the_modules_raise_the_exported_errors():
    from rewards.judge.backends import OpenAIBackend
    from rewards.sandbox_client import SandboxClient

    with pytest.raises(rewards.SandboxUnavailable):
        SandboxClient([])
    judge = OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", "m", None, timeout_s=1, retries=0, concurrency=1)
    with pytest.raises(rewards.JudgeUnavailable, match="after 1 attempts"):
        await judge.complete([{"role": "user", "content": "hi"}], {})
    await judge.aclose()


def test_import_rewards_loads_no_heavy_module():
    code = "import sys, rewards; print(sorted(m for m in ('pydantic', 'httpx', 'sympy', 'fastapi') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout


def test_verify_math_right_wrong_and_over_budget():
    assert rewards.verify_math("1/2", r"so it is $\boxed{0.5}$").reward == 1.0
    wrong = rewards.verify_math(12, "the answer is 13")
    assert wrong.reward == 0.0 and wrong.error is None and wrong.details["reason"] == "not equal"
    # seconds of exact big-integer work: the worker is killed at the budget, and it is a 0, not an error
    slow = r"\boxed{" + "*".join(rf"\binom{{{50_000 + k}}}{{{25_000 + k}}}" for k in range(8)) + "}"
    late = rewards.verify_math("2", slow, spec=rewards.MathSpec(timeout_s=0.3))
    assert late.reward == 0.0 and late.error is None and late.is_timeout and late.details["timeout_s"] == 0.3
    assert rewards.verify_math("4", r"\boxed{4}").reward == 1.0  # the pool replaced the killed worker


def test_py_typed_ships_with_the_package():
    pyproject = tomllib.loads(REPO.joinpath("pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["rewards"]
    assert REPO.joinpath("rewards", "py.typed").is_file()


def readme_example() -> str:
    section = REPO.joinpath("README.md").read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_and_prints_what_it_says(server, tmp_path):
    code = readme_example()
    expected = [line.split("#", 1)[1].strip() for line in code.splitlines() if line.strip().startswith("print(")]
    script = tmp_path / "example.py"
    script.write_text(code.replace("http://127.0.0.1:8000", server))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == expected
