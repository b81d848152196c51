"""The reward service's commands: `rlvr serve` and `rlvr serve-model` (also `python -m rewards ...`).

Each command imports its heavy modules when it runs, so the CLI starts fast."""

from __future__ import annotations

import contextlib
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rewards.graders.base import GraderRef
    from rewards.rescore import Grade
    from rewards.service import RewardService

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
    model_server: Annotated[list[str] | None, typer.Option(
        help="MODEL=URL: the model server answering for MODEL (repeatable); others start privately.")] = None,
    log_level: Annotated[str | None, typer.Option(help="uvicorn log level [default: info].")] = None,
    access_log: Annotated[bool | None, typer.Option("--access-log/--no-access-log",
                                                    help="Log every request [default: off].")] = None,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", envvar="RLVR_INSECURE_NO_AUTH",
        help="Listen beyond loopback WITHOUT an API key (only where the network itself is trusted).")] = False,
) -> None:
    """Start the reward service."""
    from rewards.app import create_app
    from rewards.settings import load_settings

    try:
        servers = dict(pair.split("=", 1) for pair in model_server or [] if "=" in pair)
        if len(servers) != len(model_server or []):
            raise ValueError("--model-server takes MODEL=URL")
        settings = load_settings(config, host=host, port=port, workers=workers, timeout_s=timeout_s,
                                 api_key=api_key, sandbox_urls=sandbox_url, log_level=log_level,
                                 access_log=access_log, model_servers=servers or None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not settings.api_key and not insecure_no_auth and not loopback(settings.host):
        typer.echo(f"error: refusing to listen on {settings.host or 'every interface'} without an API key: "
                   "whoever reaches the port could run graders, code in the sandbox and model servers. Set "
                   "RLVR_API_KEY (or --api-key), listen on 127.0.0.1, or pass --insecure-no-auth "
                   "(RLVR_INSECURE_NO_AUTH=1) if the network is trusted.", err=True)
        raise typer.Exit(2)
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


def loopback(host: str) -> bool:
    """Whether listening on `host` reaches this machine only: localhost or a loopback address. A host name
    other than localhost may resolve to anything, so it counts as reachable from outside."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command("serve-model")
def serve_model(
    model: Annotated[str, typer.Argument(help="Local path or hub name of the model.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    name: Annotated[str | None, typer.Option(help="Model name reported by the API (default: MODEL).")] = None,
    head: Annotated[str, typer.Option(help="causal (chat, completions, causal PRM), reward (/predict), "
                                           "token or remote (token-classifier PRM), embed (/v1/embeddings, "
                                           "a sentence encoder).")] = "causal",
    batch_size: Annotated[int, typer.Option(help="Most requests in one forward pass; 1 = no batching.")] = 8,
    batch_wait_ms: Annotated[float, typer.Option(help="How long a batch waits to fill up.")] = 5.0,
    max_new_tokens: Annotated[int, typer.Option(help="Cap on generated tokens per request.")] = 512,
    max_length: Annotated[int, typer.Option(help="Most tokens kept per /predict, /pooling or "
                                                           "/v1/embeddings input.")] = 4096,
    step_tag: Annotated[str | None, typer.Option(help="PRMs: the tag after each step (default: <extra_0>; "
                                                      "causal: ' ки').")] = None,
    positive_token: Annotated[str, typer.Option(help="Causal PRMs: the 'good step' token.")] = "+",
    negative_token: Annotated[str, typer.Option(help="Causal PRMs: the 'bad step' token.")] = "-",
    threads: Annotated[int | None, typer.Option(help="torch CPU threads.")] = None,
    weight_updates: Annotated[bool, typer.Option(help="Serve /v1/load_lora_adapter, /v1/unload_lora_adapter and "
                                                      "/update_weights_from_disk (an RL trainer's weight sync); "
                                                      "they load files this server can read.")] = False,
) -> None:
    """Serve a transformers model: OpenAI's chat and embeddings APIs, TEI's /predict, vLLM's /pooling (see the
    README)."""
    from pydantic import ValidationError

    from rewards.models.loader import load_sync
    from rewards.serving.openai_server import ServeModelSettings, create_model_app
    from sandbox.httpkit import serve as serve_app

    try:
        settings = ServeModelSettings.model_validate({
            "model": model, "name": name or model, "head": head, "batch_size": batch_size,
            "batch_wait_ms": batch_wait_ms, "max_new_tokens": max_new_tokens, "max_length": max_length,
            "step_tag": step_tag, "positive_token": positive_token, "negative_token": negative_token,
            "threads": threads, "weight_updates": weight_updates})
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:  # before listening: a model that cannot load is one clear line, the last one, for whoever started us
        lm = load_sync(settings.model, settings.head, settings.threads)
        app_ = create_model_app(settings, lm)
    except Exception as exc:  # noqa: BLE001 - any load failure ends the command with its reason
        typer.echo(f"error: cannot serve {model}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from exc
    serve_app(app_, host=host, port=port, timeout_graceful_shutdown=5)


RescoreOut = Annotated[Path | None, typer.Option(help="Write every changed record here as JSONL.")]
Workers = Annotated[int | None, typer.Option(help="Grading worker processes [default: CPU count + 1].")]
TimeoutS = Annotated[float | None, typer.Option(help="Per-sample time budget in seconds [default: 2].")]
SandboxUrls = Annotated[list[str] | None, typer.Option(help="A running sandbox service for code graders (repeatable).")]
ChunkSize = Annotated[int, typer.Option(min=1, help="Records graded per batch.")]
Show = Annotated[int, typer.Option(min=0, help="Changes shown in the table.")]
FailOnChange = Annotated[bool, typer.Option("--fail-on-change", help="Exit with status 1 when any reward changed "
                                                                     "or failed.")]


@app.command()
def rescore(
    samples: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                            help="JSONL of stored rollouts (e.g. a run's samples.jsonl).")],
    grader: Annotated[str, typer.Option(help="A grader type, a named grader from --config, or a JSON spec.")],
    config: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                help="YAML config file (named graders, cache).")] = None,
    out: RescoreOut = None,
    workers: Workers = None,
    timeout_s: TimeoutS = None,
    sandbox_url: SandboxUrls = None,
    chunk_size: ChunkSize = 256,
    show: Show = 50,
    fail_on_change: FailOnChange = False,
) -> None:
    """Re-score stored rollouts with the current graders and report what changed (a trainer run's own graders:
    `rlvr rescore-run`)."""
    import json

    from rewards.settings import load_settings

    try:
        spec = json.loads(grader) if grader.lstrip().startswith("{") else grader
        settings = load_settings(config, workers=workers, timeout_s=timeout_s, sandbox_urls=sandbox_url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    from rewards.service import RewardService

    service = RewardService(settings)
    run_rescore(service, [spec], lambda batch: service.score_batch(spec, batch), samples, out=out,
                chunk_size=chunk_size, show=show, fail_on_change=fail_on_change)


def run_rescore(service: RewardService, graders: list[GraderRef], grade: Grade, samples: Path, *,
                out: Path | None, chunk_size: int, show: int, fail_on_change: bool) -> None:
    """The rescore commands' common part: check the graders, re-grade `samples`, print the report, set the exit
    status (2: a bad grader or line; 1: a change, with `fail_on_change`)."""
    from rewards.errors import InvalidGrader, UnknownGrader
    from rewards.rescore import RescoreInputError, render, rescore_file

    try:
        for spec in graders:
            service.resolve(spec)
    except InvalidGrader as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors)
        raise typer.BadParameter(f"{exc}: {where}") from exc
    except (ValueError, UnknownGrader) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        report = rescore_file(service, grade, samples, out=out, chunk_size=chunk_size, keep=show)
    except RescoreInputError as exc:
        typer.echo(f"error: {samples}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(render(report))
    if fail_on_change and report.changed:
        raise typer.Exit(1)
