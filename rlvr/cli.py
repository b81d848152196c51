"""`rlvr`: the commands each package owns, side by side under one name. This module only wires them."""

from __future__ import annotations

import typer

import rewards.cli
import sandbox.cli
import trainer.cli

app = typer.Typer(help="rlvr: verifiers, reward service and RLVR trainer.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

for package_app in (rewards.cli.app, sandbox.cli.app, trainer.cli.app):
    app.registered_commands.extend(package_app.registered_commands)


@app.callback()
def main() -> None:
    """rlvr: verifiers, reward service and RLVR trainer."""
