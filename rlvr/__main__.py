"""`python -m rlvr ...`: the same as the `rlvr` command."""

from rlvr.cli import app

if __name__ == "__main__":
    app()
