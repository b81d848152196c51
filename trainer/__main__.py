"""`python -m trainer train|sft|sample|train-rm|train-prm ...`: the trainer's own commands."""

from trainer.cli import app

if __name__ == "__main__":
    app()
