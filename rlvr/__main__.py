"""`python -m rlvr ...`: the same as the `rlvr` command."""

from rlvr.console import main

if __name__ == "__main__":
    main()
