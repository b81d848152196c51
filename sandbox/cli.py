"""The sandbox's command: `rlvr sandbox`, also `python -m sandbox`."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="The code sandbox service.", no_args_is_help=False, pretty_exceptions_enable=False)


@app.command("sandbox")
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    workers: Annotated[int | None, typer.Option(help="Warm jailed workers [default: 2x CPU count].")] = None,
    max_queue: Annotated[int, typer.Option(
        help="Jobs waiting for a worker before 503s (a batch needs room for all its jobs).")] = 256,
    disk_mb: Annotated[int, typer.Option(help="Private work-dir size of each worker (MiB).")] = 64,
    runs_per_worker: Annotated[int, typer.Option(help="Jobs a worker serves before it is replaced.")] = 1000,
    cgroups: Annotated[bool, typer.Option(
        help="Bound each run's whole process tree (memory, processes) with a cgroup where the host allows.")] = True,
    insecure_no_isolation: Annotated[bool, typer.Option(
        "--insecure-no-isolation", help="Run code WITHOUT bwrap isolation (only for trusted code).")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Start the code sandbox service."""
    from sandbox.errors import IsolationUnavailable
    from sandbox.models import SandboxSettings
    from sandbox.service import serve as serve_sandbox

    settings = SandboxSettings(host=host, port=port, workers=workers, max_queue=max_queue, disk_mb=disk_mb,
                               runs_per_worker=runs_per_worker, cgroups=cgroups, insecure=insecure_no_isolation,
                               log_level=log_level)
    try:
        serve_sandbox(settings)
    except IsolationUnavailable as exc:
        typer.echo(f"refusing to start: {exc}; pass --insecure-no-isolation to run code unisolated", err=True)
        raise typer.Exit(2) from exc
