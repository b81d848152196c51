"""`python -m sandbox [OPTIONS]`: the same as `rlvr sandbox [OPTIONS]`."""

import typer

from sandbox.cli import sandbox

if __name__ == "__main__":
    typer.run(sandbox)
