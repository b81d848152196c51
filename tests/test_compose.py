"""compose.yaml and the Dockerfile deploy safely and run what exists.

- compose.yaml is valid under the Compose specification's JSON schema (vendored in tests/data/compose_spec,
  source cited there; `docker compose config` validates against the same schema, and there is no Docker
  Compose on the test machines), read after compose's own `${VAR:-default}` interpolation;
- every service runs `rlvr <subcommand>` with options that subcommand has; the one exception is the demo,
  which is a module of this repository (examples/arithmetic/run.py), run with options it has;
- the reward service is published on loopback unless RLVR_BIND says otherwise, and, listening on every
  interface in its container, refuses to start without an API key;
- the trainer profile runs the demo, then trains from its model through the reward service with the key,
  writing to a named volume;
- only the sandbox is unconfined (seccomp, AppArmor: what bwrap's namespaces need), and nothing is privileged;
- the image installs the pinned torch first, from the index TORCH_VARIANT picks, and holds what compose runs.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml
from typer.testing import CliRunner

import sandbox.httpkit
from rlvr.cli import app
from trainer.config import TrainConfig, load_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "tests/data/compose_spec/compose-spec.json").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()
DEMO = ["python", "-m", "examples.arithmetic.run"]
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """`value` with compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` filled from `env`."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def fill(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        if operator and operator.startswith("?"):
            raise AssertionError(f"{name} is required by compose.yaml: {default}")
        if name in env and (env[name] or operator != ":-"):
            return env[name]
        return default or ""

    return _VARIABLE.sub(fill, value)


def compose(**env: str) -> dict[str, Any]:
    """compose.yaml as compose reads it with `env` as the host's environment."""
    data: dict[str, Any] = interpolate(yaml.safe_load((REPO / "compose.yaml").read_text()), env)
    return data


def services(**env: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose(**env)["services"]
    return found


def rlvr_command(name: str) -> Any:
    """The click command behind `rlvr <name>`."""
    return typer.main.get_command(app).commands[name]


def demo_options() -> set[str]:
    """The options examples/arithmetic/run.py's parser declares."""
    tree = ast.parse((REPO / "examples/arithmetic/run.py").read_text())
    return {arg.value for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "add_argument"
            for arg in node.args if isinstance(arg, ast.Constant) and str(arg.value).startswith("--")}


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert [error.message for error in validator.iter_errors(compose())] == []
    broken = compose()
    broken["services"]["rewards"]["port"] = broken["services"]["rewards"].pop("ports")  # a typo compose refuses
    assert any("port" in error.message for error in validator.iter_errors(broken))


def test_every_service_runs_a_real_command_with_options_it_has() -> None:
    commands = {cmd.name for cmd in typer.main.get_command(app).commands.values()}
    for name, service in services().items():
        command = service["command"]
        if command[:3] == DEMO:
            known, args = demo_options(), command[3:]
        else:
            assert command[0] == "rlvr", name
            assert command[1] in commands, f"{name}: rlvr {command[1]} is not a subcommand ({sorted(commands)})"
            known = {opt for param in rlvr_command(command[1]).params for opt in (*param.opts, *param.secondary_opts)}
            args = command[2:]
        unknown = [arg for arg in args if arg.startswith("--") and arg not in known]
        assert not unknown, f"{name}: {command[:3]} has no options {unknown}"
        assert service["image"] == "rlvr:latest" and service["build"]["context"] == "."


def test_the_reward_service_is_published_on_loopback_unless_told_otherwise() -> None:
    assert services()["rewards"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services(RLVR_BIND="0.0.0.0")["rewards"]["ports"] == ["0.0.0.0:8000:8000"]
    assert [name for name, service in services().items() if "ports" in service] == ["rewards"]


def test_make_serve_mirrors_it() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "HOST ?= 127.0.0.1" in makefile and "PORT ?= 8000" in makefile
    assert "$(BIN)/rlvr serve --host $(HOST) --port $(PORT)" in makefile


@pytest.mark.parametrize(("host_env", "starts"), [
    ({}, False),  # no key on the host: the service refuses
    ({"RLVR_API_KEY": "k"}, True),
    ({"RLVR_INSECURE_NO_AUTH": "1"}, True),  # the explicit override
])
def test_the_reward_service_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, host_env: dict[str, str], starts: bool
) -> None:
    """compose's own command and environment, given to the real `rlvr serve` (its server replaced by a recorder)."""
    listened: list[str] = []
    monkeypatch.setattr(sandbox.httpkit, "serve", lambda _app, host, **_: listened.append(host))
    for name in ("RLVR_API_KEY", "RLVR_HOST", "RLVR_INSECURE_NO_AUTH"):
        monkeypatch.delenv(name, raising=False)
    service = services(**host_env)["rewards"]
    result = CliRunner().invoke(app, service["command"][1:], env=service["environment"])
    assert (result.exit_code == 0) is starts, result.output
    assert listened == (["0.0.0.0"] if starts else [])


def test_the_trainer_profile_runs_the_demo_then_trains_through_the_service_with_the_key() -> None:
    found = services(RLVR_API_KEY="1e5")  # a key YAML would read as a number stays a string
    demo, trainer = found["demo"], found["trainer"]
    assert demo["profiles"] == trainer["profiles"] == ["train"]
    work = demo["command"][demo["command"].index("--work") + 1]
    source = (REPO / "examples/arithmetic/run.py").read_text()
    assert 'work / "sft"' in source and 'work / "rl_prompts.jsonl"' in source  # what the trainer starts from
    assert 'work / f"seed{seed}"' in source and "default=[0, 1, 2]" in source  # in the first seed's folder

    command = trainer["command"]
    assert command[:2] == ["rlvr", "train"]
    overrides = [command[i + 1] for i, arg in enumerate(command) if arg == "--set"]
    cfg = load_config(TrainConfig, REPO / command[2], overrides)  # the image's WORKDIR is the repo's root
    assert cfg.model.path == f"{work}/seed0/sft" and cfg.data.jsonl == f"{work}/seed0/rl_prompts.jsonl"
    assert cfg.reward.urls == ["http://rewards:8000"] and cfg.reward.api_key == "1e5"
    assert trainer["depends_on"] == {"demo": {"condition": "service_completed_successfully"},
                                     "rewards": {"condition": "service_healthy"}}

    # both write to a named volume (not a host directory the container's user may not own)
    for service in (demo, trainer):
        assert service["volumes"] == ["runs:/runs"]
    assert work.startswith("/runs/") and cfg.output_dir.startswith("/runs/")
    assert "runs" in compose()["volumes"]
    assert "mkdir /runs && chown rlvr:rlvr /runs" in DOCKERFILE


def test_without_a_key_the_trainer_sends_none() -> None:
    command = services()["trainer"]["command"]
    overrides = [command[i + 1] for i, arg in enumerate(command) if arg == "--set"]
    assert load_config(TrainConfig, REPO / command[2], overrides).reward.api_key == ""  # the client sends no header


def test_only_the_sandbox_is_unconfined_and_nothing_is_privileged() -> None:
    for name, service in services().items():
        assert not {"privileged", "cap_add", "network_mode", "pid", "userns_mode"} & set(service), name
        expected = ["seccomp=unconfined", "apparmor=unconfined"] if name == "sandbox" else None
        assert service.get("security_opt") == expected, name


def test_reward_service_has_a_healthcheck_on_healthz() -> None:
    assert "/healthz" in " ".join(services()["rewards"]["healthcheck"]["test"])


def test_model_server_is_optional_and_checked_on_its_port() -> None:
    service = services()["reward-model"]
    command = service["command"]
    assert command[:2] == ["rlvr", "serve-model"] and service["profiles"]  # off unless asked for
    assert command[command.index("--head") + 1] == "reward"
    port = command[command.index("--port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])


def pinned_torch(text: str) -> str:
    pins = set(re.findall(r"torch==([\w.]+)", text))
    assert len(pins) == 1, pins
    return pins.pop()


def test_dockerfile_installs_the_pinned_torch_first() -> None:
    assert DOCKERFILE.index("torch==") < DOCKERFILE.index("pip install --no-cache-dir '.[all]'")
    assert pinned_torch(DOCKERFILE) == pinned_torch((REPO / "Makefile").read_text())


@pytest.mark.parametrize(("variant", "index"), [("cpu", "https://download.pytorch.org/whl/cpu"), ("cuda", None)])
def test_torch_variant_picks_the_wheel_index(tmp_path: Path, variant: str, index: str | None) -> None:
    """The Dockerfile's torch step, run by sh with a pip that only records its arguments."""
    (tmp_path / "pip").write_text('#!/bin/sh\necho "$@"\n')
    (tmp_path / "pip").chmod(0o755)
    args = {m.group(1): m.group(2) for m in re.finditer(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.M)}
    assert args["TORCH_VARIANT"] == "cpu"  # the default build is CPU-only
    assert services()["rewards"]["build"]["args"] == {"TORCH_VARIANT": "cpu"}
    step = next(line for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines() if "TORCH_VARIANT" in line
                and line.startswith("RUN "))[4:]
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", **args, "TORCH_VARIANT": variant}
    done = subprocess.run(["sh", "-c", step], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "torch==" in done.stdout and (f"--index-url {index}" in done.stdout if index else "--index-url" not in done.stdout)
    refused = subprocess.run(["sh", "-c", step], env={**env, "TORCH_VARIANT": "rocm"}, capture_output=True, text=True)
    assert refused.returncode != 0 and "cpu or cuda" in refused.stderr


def test_the_image_holds_what_compose_runs() -> None:
    """Every package pyproject.toml installs, the demo, and the first-party modules the demo imports."""
    copied = set(re.findall(r"^COPY (?:--\S+ )*(.+?) \S+$", DOCKERFILE, re.M))
    sources = {part for line in copied for part in line.split()}
    packages = [p.rstrip("*") for p in
                tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert set(packages) <= sources and "examples" in sources
    tree = ast.parse((REPO / "examples/arithmetic/run.py").read_text())
    local = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
             and node.module.split(".")[0] not in {*packages, "examples"} and (REPO / node.module.split(".")[0]).is_dir()}
    assert local and all(m.replace(".", "/") + ".py" in sources for m in local), local
    ignored = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    for source in sources:
        assert not any(fnmatch.fnmatch(source, pattern) or source.startswith(pattern + "/") for pattern in ignored), source


def test_the_variables_compose_passes_are_ones_serve_reads() -> None:
    """The settings compose hands to the reward service are ones `rlvr serve` reads."""
    envvars = {param.envvar for param in rlvr_command("serve").params if getattr(param, "envvar", None)}
    assert set(services()["rewards"]["environment"]) <= envvars


def test_the_server_backend_profile_trains_against_serve_model_on_the_shared_volume() -> None:
    found = services()
    server, trainer = found["rollout-server"], found["trainer-server"]
    assert server["profiles"] == trainer["profiles"] == ["train-server"]
    command = server["command"]
    assert command[:2] == ["rlvr", "serve-model"] and "--weight-updates" in command
    name, port = command[command.index("--name") + 1], command[command.index("--port") + 1]
    overrides = [trainer["command"][i + 1] for i, arg in enumerate(trainer["command"]) if arg == "--set"]
    cfg = load_config(TrainConfig, REPO / trainer["command"][2], overrides)
    assert cfg.rollout.backend == "server" and cfg.rollout.server_model == name
    assert cfg.rollout.server_urls == [f"http://rollout-server:{port}"]
    assert cfg.model.path == command[2]  # the server starts from the weights the trainer starts from
    # the weights the trainer saves (output_dir/sync) are where the server reads them: the same volume
    assert server["volumes"] == trainer["volumes"] == ["runs:/runs"] and cfg.output_dir.startswith("/runs/")
    assert trainer["depends_on"]["rollout-server"] == {"condition": "service_healthy"}
