"""The `rlvr` command line. Subcommands import their heavy modules lazily so the CLI starts fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="rlvr: verifiers, reward service and RLVR trainer.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main() -> None:
    """rlvr: verifiers, reward service and RLVR trainer."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000].")] = None,
    config: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="YAML config file.")] = None,
    workers: Annotated[int | None, typer.Option(help="Grading worker processes [default: CPU count].")] = None,
    timeout_s: Annotated[float | None, typer.Option(help="Per-sample time budget in seconds [default: 2].")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="RLVR_API_KEY", help="Require this bearer token.")] = None,
    sandbox_url: Annotated[list[str] | None, typer.Option(help="A running sandbox service (repeatable).")] = None,
    log_level: Annotated[str | None, typer.Option(help="uvicorn log level [default: info].")] = None,
) -> None:
    """Start the reward service."""
    import uvicorn

    from rewards.app import create_app
    from rewards.settings import load_settings

    try:
        settings = load_settings(config, host=host, port=port, workers=workers, timeout_s=timeout_s,
                                 api_key=api_key, sandbox_urls=sandbox_url, log_level=log_level)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                timeout_graceful_shutdown=5)


if __name__ == "__main__":
    app()
