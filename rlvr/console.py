"""The `rlvr` console script: the packages' commands, or the extra to install when a command's dependencies
are missing. A bare `pip install rlvr` is only the client and the trainer adapters, so without an extra
the commands cannot even start; this module imports nothing beyond the standard library until they can."""

from __future__ import annotations

import re
import sys
from importlib import metadata

# the extra each command needs (tests/test_packaging.py checks these are the commands and the extras)
COMMAND_EXTRAS = {
    "serve": "serve", "serve-model": "models", "sandbox": "sandbox",
    "train": "train", "sft": "train", "sample": "train", "train-rm": "train", "train-prm": "train",
    "leakage": "train", "rescore": "serve", "rescore-run": "train",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRAS = re.compile(r"\[([^\]]*)\]")
_MARKER_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_of(extra: str) -> set[str]:
    """The distributions rlvr's `extra` brings, following extras that name other extras of rlvr."""
    by_extra: dict[str, list[str]] = {}
    for line in metadata.requires("rlvr") or []:
        if marker := _MARKER_EXTRA.search(line):
            by_extra.setdefault(marker.group(1), []).append(line.partition(";")[0].strip())
    found: set[str] = set()
    todo, seen = [extra], set()
    while todo:
        current = todo.pop()
        seen.add(current)
        for requirement in by_extra.get(current, []):
            match = _NAME.match(requirement)
            if match is None:
                continue
            if _normal(match.group()) == "rlvr":
                inner = _EXTRAS.search(requirement)
                todo += [e.strip() for e in (inner.group(1) if inner else "").split(",") if e.strip() not in seen]
            else:
                found.add(_normal(match.group()))
    return found


def missing_from(extra: str) -> list[str]:
    """The distributions of `extra` that are not installed."""
    missing = []
    for name in sorted(requirements_of(extra)):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def advice(argv: list[str]) -> str | None:
    """What to install for `rlvr <argv>`, or None when its extra is installed (the failure is something else)."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command in COMMAND_EXTRAS:
        extra = COMMAND_EXTRAS[command]
        if not (missing := missing_from(extra)):
            return None
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        return f"error: `rlvr {command}` needs rlvr's '{extra}' extra ({shown} not installed): pip install 'rlvr[{extra}]'"
    if not missing_from("all"):
        return None
    return ("error: rlvr's commands come with its extras: pip install 'rlvr[serve]' (the reward service), "
            "'rlvr[sandbox]', 'rlvr[models]' (model graders, serve-model), 'rlvr[train]' or 'rlvr[all]'")


def main() -> None:
    """Run `rlvr`; a dependency missing because its extra is not installed ends it with the pip command."""
    try:
        from rlvr.cli import app

        app()
    except ModuleNotFoundError:
        try:
            message = advice(sys.argv[1:])
        except metadata.PackageNotFoundError:  # run from a source tree that was never installed
            message = None
        if message is None:
            raise
        sys.exit(message)
