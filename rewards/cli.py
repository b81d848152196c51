"""The reward service's commands: `rlvr serve` and `rlvr serve-model` (also `python -m rewards ...`).

Each command imports its heavy modules when it runs, so the CLI starts fast."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The reward service and its model server.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main() -> None:
    """The reward service and its model server."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000].")] = None,
    config: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="YAML config file.")] = None,
    workers: Annotated[int | None, typer.Option(help="Grading worker processes [default: CPU count + 1].")] = None,
    timeout_s: Annotated[float | None, typer.Option(help="Per-sample time budget in seconds [default: 2].")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="RLVR_API_KEY", help="Require this bearer token.")] = None,
    sandbox_url: Annotated[list[str] | None, typer.Option(help="A running sandbox service (repeatable).")] = None,
    log_level: Annotated[str | None, typer.Option(help="uvicorn log level [default: info].")] = None,
    access_log: Annotated[bool | None, typer.Option("--access-log/--no-access-log",
                                                    help="Log every request [default: off].")] = None,
) -> None:
    """Start the reward service."""
    from rewards.app import create_app
    from rewards.settings import load_settings

    try:
        settings = load_settings(config, host=host, port=port, workers=workers, timeout_s=timeout_s,
                                 api_key=api_key, sandbox_urls=sandbox_url, log_level=log_level,
                                 access_log=access_log)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    from sandbox.httpkit import serve as serve_app
    from sandbox.local import ServiceStartError, local_sandbox

    with contextlib.ExitStack() as stack:
        if not settings.sandbox_urls:  # a private sandbox beside the service, stopped with it
            try:
                settings.sandbox_urls = [stack.enter_context(local_sandbox())]
            except ServiceStartError as exc:
                typer.echo(f"warning: no code sandbox ({exc}); code graders will report errors", err=True)
        serve_app(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                  access_log=settings.access_log, timeout_graceful_shutdown=5)


@app.command("serve-model")
def serve_model(
    model: Annotated[str, typer.Argument(help="Local path or hub name of a causal LM.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    name: Annotated[str | None, typer.Option(help="Model name reported by the API [default: MODEL].")] = None,
    batch_size: Annotated[int, typer.Option(help="Most requests generated together.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="Cap on generated tokens per request.")] = 512,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads.")] = None,
) -> None:
    """Serve a transformers model behind an OpenAI-compatible API (/v1/chat/completions, /v1/completions)."""
    import uvicorn

    from rewards.serving.openai_server import ServeModelSettings, create_model_app

    settings = ServeModelSettings(model=model, name=name or model, batch_size=batch_size,
                                  max_new_tokens=max_new_tokens, threads=threads)
    uvicorn.run(create_model_app(settings), host=host, port=port, timeout_graceful_shutdown=5)
