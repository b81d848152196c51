"""`python -m rewards serve|serve-model ...`: the reward service's own commands."""

from rewards.cli import app

if __name__ == "__main__":
    app()
