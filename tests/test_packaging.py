"""A bare `pip install rlvr` (no extras) is the client and the trainer adapters: it brings httpx and pydantic
only, scores through a running service, and its `rlvr` command says which extra a command needs. The
extras cover what each package imports, and the `rlvr` command knows the extra of each of its commands.

The bare install is real: a fresh virtualenv, pip installing a copy of this tree without extras."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import typer
from packaging.requirements import Requirement

import rlvr.console
from rlvr.cli import app
from rlvr.console import COMMAND_EXTRAS, advice, requirements_of
from tests.procs import REPO, free_port, launch

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGES = [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
# the light surface: what a trainer's environment imports to call a running service
LIGHT = ["rewards", "rewards.client", "rewards.retry", "rewards.types", "rewards.errors", "rewards.integrations",
         *sorted(f"rewards.integrations.{p.stem}" for p in (REPO / "rewards/integrations").glob("*.py")
                 if p.stem != "__init__")]
BASE = {"httpx", "pydantic", "sniffio"}  # sniffio: httpcore's async path (see pyproject.toml)
KEY = "packaging-test-key"


def run(python: Path, code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in the bare interpreter, outside the repo (so the repo's own tree is not importable)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RLVR_API_KEY", "RLVR_URL")}
    return subprocess.run([str(python), "-c", code], cwd=cwd, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtualenv with this tree pip-installed, no extras."""
    root = tmp_path_factory.mktemp("bare")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    python = root / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(src)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"pip install of the bare package failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return python


def test_rlvr_requires_httpx_and_pydantic_only(bare: Path) -> None:
    code = ("import json; from importlib import metadata; "
            "print(json.dumps([r for r in metadata.requires('rlvr') if 'extra ==' not in r]))")
    done = run(bare, code, bare.parents[2])
    assert done.returncode == 0, done.stderr
    assert {Requirement(r).name for r in json.loads(done.stdout)} == BASE


def test_the_bare_install_holds_nothing_beyond_them(bare: Path) -> None:
    """Everything installed is rlvr, the venv's own pip/setuptools, or what httpx and pydantic need."""
    code = f"""
import json, re
from importlib import metadata
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
installed = {{norm(d.metadata["Name"]) for d in metadata.distributions()}}
needed, todo = set(), {sorted(BASE)!r}
while todo:
    name = norm(todo.pop())
    if name in needed:
        continue
    needed.add(name)
    try:
        requires = metadata.requires(name) or []
    except metadata.PackageNotFoundError:  # excluded by an environment marker: not installed either
        continue
    for req in requires:
        if "extra ==" not in req:
            todo.append(re.match(r"[A-Za-z0-9._-]+", req).group())
print(json.dumps(sorted(installed - needed - {{"rlvr", "pip", "setuptools"}})))
"""
    done = run(bare, code, bare.parents[2])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_client_and_every_adapter_import_without_extras(bare: Path) -> None:
    code = f"""
import importlib, json, sys
failed = {{}}
for name in {LIGHT!r}:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = repr(exc)
import rewards
print(json.dumps({{"failed": failed, "file": rewards.__file__,
                   "heavy": sorted(m for m in ("fastapi", "sympy", "torch", "typer", "yaml") if m in sys.modules)}}))
"""
    done = run(bare, code, bare.parents[2])
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert "site-packages" in found["file"]  # the installed copy, not the repo's tree
    assert found["failed"] == {} and found["heavy"] == []


def test_a_trl_reward_call_scores_through_a_running_service(bare: Path) -> None:
    """TRL calls reward functions as f(prompts=..., completions=..., completion_ids=..., **columns); the key
    comes from RLVR_API_KEY as in a trainer's environment, and a wrong key is refused."""
    code = """
import json, os
from rewards.client import RewardClient
from rewards.errors import RewardServiceError
from rewards.integrations.trl import TRLReward

reward = TRLReward("math", url=os.environ["URL"])
rewards = reward(prompts=["1+1=", "2+2="], completions=["so $\\\\boxed{2}$", "it is \\\\boxed{5}"],
                 completion_ids=[[1], [2]], reference=["2", "4"], trainer_state=None)
try:
    RewardClient(os.environ["URL"], api_key="wrong", retries=0).score("math", "\\\\boxed{2}", reference="2")
    refused = ""
except RewardServiceError as exc:
    refused = str(exc)
print(json.dumps({"rewards": rewards, "refused": refused}))
"""
    with launch(["serve", "--workers", "1", "--sandbox-url", "http://127.0.0.1:9"], free_port(),
                env={"RLVR_API_KEY": KEY}) as url:
        done = run(bare, code, bare.parents[2], URL=url, RLVR_API_KEY=KEY)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["rewards"] == [1.0, 0.0]
    assert "401" in found["refused"]


@pytest.mark.parametrize("command", sorted(set(COMMAND_EXTRAS.values())))
def test_a_command_without_its_extra_names_the_extra(bare: Path, command: str) -> None:
    name = next(c for c, extra in COMMAND_EXTRAS.items() if extra == command)
    done = subprocess.run([str(bare.parent / "rlvr"), name, "--help"], cwd=bare.parents[2], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert f"pip install 'rlvr[{COMMAND_EXTRAS[name]}]'" in done.stderr and "Traceback" not in done.stderr


def test_every_command_has_an_extra_that_exists() -> None:
    commands = {cmd.name for cmd in typer.main.get_command(app).commands.values()}
    assert set(COMMAND_EXTRAS) == commands
    assert set(COMMAND_EXTRAS.values()) <= set(PYPROJECT["project"]["optional-dependencies"])


def test_extras_naming_other_extras_are_followed() -> None:
    assert {"fastapi", "sympy"} <= requirements_of("serve") < requirements_of("models") < requirements_of("train")
    assert requirements_of("all") == requirements_of("train") | requirements_of("sandbox")


def test_advice_names_what_is_missing_and_nothing_when_all_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the extra installed, a missing module is some other failure, left to its own traceback."""
    assert advice(["serve", "--port", "1"]) is None
    real = metadata.version

    def version(name: str) -> str:
        if name == "sympy":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(rlvr.console.metadata, "version", version)
    message = advice(["serve", "--port", "1"])
    assert message is not None and "sympy" in message and "pip install 'rlvr[serve]'" in message
    assert advice(["sandbox"]) is None  # the sandbox's extra has no sympy


def normal(name: str) -> str:
    return name.replace("_", "-").replace(".", "-").lower()


def closure(extras: set[str]) -> set[str]:
    """The distributions rlvr's base and `extras` bring, transitively (as installed in this environment)."""
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [("rlvr", frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        found.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # excluded by an environment marker
            continue
        for req in map(Requirement, requires):
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted | {""}):
                todo.append((normal(req.name), frozenset(req.extras)))
    return found - {"rlvr"}


def imported_distributions(package: str) -> dict[str, set[str]]:
    """Third-party distribution -> the modules of `package` that import it (at the top or inside functions)."""
    owners = metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}:
                for dist in owners.get(top, [top]):
                    found.setdefault(normal(dist), set()).add(str(path.relative_to(REPO)))
    return found


# the extras a package's code may rely on: the sandbox runs alone with its own, the reward service's model
# graders and serve-model need `models`, the trainer `train` (and `report` for `report_to`, which the config checks
# is installed); `rlvr` wires every command, so each command's extra must carry what it imports
PACKAGE_EXTRAS = {"sandbox": [{"sandbox"}], "rewards": [{"models"}], "trainer": [{"train", "report"}],
                  "rlvr": [{extra} for extra in set(COMMAND_EXTRAS.values())]}


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_its_extra_installs(package: str) -> None:
    imported = imported_distributions(package)
    for extras in PACKAGE_EXTRAS[package]:
        missing = {dist: sorted(where) for dist, where in imported.items() if dist not in closure(extras)}
        assert not missing, f"{package} imports what rlvr[{','.join(sorted(extras))}] does not install: {missing}"
