"""`rlvr serve` refuses to listen beyond loopback without an API key, unless told the network is trusted.

The server itself is replaced by a recorder: these tests see where `serve` would listen, and nothing listens."""

from __future__ import annotations

import pytest
from click.testing import Result
from typer.testing import CliRunner

import sandbox.httpkit
from rewards.cli import app, loopback

NOT_LOOPBACK = ["0.0.0.0", "::", "[::]", "10.1.2.3", "192.168.0.7", "rewards.example.org", ""]
LOOPBACK = ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]


@pytest.fixture
def listened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hosts `serve` went on to listen on, with RLVR_* variables of the environment cleared."""
    hosts: list[str] = []
    monkeypatch.setattr(sandbox.httpkit, "serve", lambda _app, host, **_: hosts.append(host))
    for name in ("RLVR_API_KEY", "RLVR_HOST", "RLVR_INSECURE_NO_AUTH"):
        monkeypatch.delenv(name, raising=False)
    return hosts


def serve(*args: str, env: dict[str, str] | None = None) -> Result:
    # a sandbox URL is given so that no private sandbox starts; none is contacted
    return CliRunner().invoke(app, ["serve", "--sandbox-url", "http://127.0.0.1:9", *args], env=env)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_refuses_to_listen_beyond_loopback_without_a_key(listened: list[str], host: str) -> None:
    result = serve("--host", host)
    assert result.exit_code == 2, result.output
    assert "refusing to listen" in result.stderr and "RLVR_API_KEY" in result.stderr
    assert listened == []


def test_an_empty_key_is_no_key(listened: list[str]) -> None:
    """compose passes `RLVR_API_KEY: ${RLVR_API_KEY:-}`: unset on the host, it arrives empty."""
    result = serve("--host", "0.0.0.0", env={"RLVR_API_KEY": "", "RLVR_INSECURE_NO_AUTH": ""})
    assert result.exit_code == 2 and listened == []


def test_the_host_from_the_environment_is_checked_too(listened: list[str]) -> None:
    result = serve(env={"RLVR_HOST": "0.0.0.0"})
    assert result.exit_code == 2 and listened == []


@pytest.mark.parametrize("how", [["--api-key", "k"], ["--insecure-no-auth"]])
def test_a_key_or_the_explicit_flag_lets_it_listen_everywhere(listened: list[str], how: list[str]) -> None:
    result = serve("--host", "0.0.0.0", *how)
    assert result.exit_code == 0, result.output
    assert listened == ["0.0.0.0"]


@pytest.mark.parametrize("env", [{"RLVR_API_KEY": "k"}, {"RLVR_INSECURE_NO_AUTH": "1"}])
def test_the_key_and_the_flag_work_from_the_environment(listened: list[str], env: dict[str, str]) -> None:
    result = serve("--host", "0.0.0.0", env=env)
    assert result.exit_code == 0, result.output
    assert listened == ["0.0.0.0"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_needs_no_key(listened: list[str], host: str) -> None:
    result = serve("--host", host)
    assert result.exit_code == 0, result.output
    assert listened == [host]


def test_loopback_is_this_machine_only() -> None:
    assert all(loopback(h) for h in LOOPBACK)
    assert not any(loopback(h) for h in NOT_LOOPBACK)
