"""The `rlvr` command: one entry point over the packages' own commands (rewards, sandbox, trainer)."""
