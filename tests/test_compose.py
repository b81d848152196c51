"""compose.yaml stays valid and every service runs a real `rlvr` subcommand."""

from pathlib import Path

import typer
import yaml

from rlvr.cli import app

REPO = Path(__file__).resolve().parents[1]


def test_every_service_command_is_an_rlvr_subcommand():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    commands = {cmd.name for cmd in typer.main.get_command(app).commands.values()}
    assert compose["services"]
    for name, service in compose["services"].items():
        command = service["command"]
        assert command[0] == "rlvr", name
        assert command[1] in commands, f"{name}: rlvr {command[1]} is not a subcommand ({sorted(commands)})"
        assert "build" in service or "image" in service


def test_reward_service_has_a_healthcheck_on_healthz():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert "/healthz" in " ".join(compose["services"]["rewards"]["healthcheck"]["test"])


def test_dockerfile_installs_pinned_torch_first():
    text = (REPO / "Dockerfile").read_text()
    assert text.index("torch==2.13.0") < text.index("pip install --no-cache-dir .")


def test_model_server_is_optional_and_checked_on_its_port():
    service = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]["reward-model"]
    command = service["command"]
    assert command[:2] == ["rlvr", "serve-model"] and service["profiles"]  # off unless asked for
    assert command[command.index("--head") + 1] == "reward"
    port = command[command.index("--port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
