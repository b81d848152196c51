"""The languages this host can run in the jail, and how each is compiled and started."""

from __future__ import annotations

import platform
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """How to build and start programs of one language inside the worker's work dir."""

    name: str
    version: str
    source: str  # the file the code is written to
    run: tuple[str, ...] = ()  # empty: Python's fast path, forked from the warm worker
    compile: tuple[str, ...] = ()
    marker: str = ""  # appended to a script test to prove it ran to its end; {nonce} is filled in

    @property
    def forked(self) -> bool:
        return not self.run

    def public(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "compiled": bool(self.compile),
                "call_tests": self.forked}


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.splitlines()[0] if out else ""


def _tool(name: str) -> str | None:
    """A tool under /usr (what the jail binds), as an absolute path."""
    path = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
    return path if path and path.startswith(("/usr/", "/bin/")) else None


def detect() -> dict[str, Language]:
    """Python always; C++, JavaScript and bash when their tools are installed."""
    found = {"python": Language("python", f"Python {platform.python_version()}", "main.py")}
    if gxx := _tool("g++"):
        found["cpp"] = Language("cpp", _version([gxx, "--version"]), "main.cpp", run=("./main",),
                                compile=(gxx, "-O2", "-std=c++17", "-pipe", "-o", "main", "main.cpp"))
    if node := _tool("node"):
        found["javascript"] = Language("javascript", "node " + _version([node, "--version"]), "main.js",
                                       run=(node, "main.js"),
                                       marker='\n;require("fs").writeSync(3, "{nonce}\\n");\n')
    if bash := _tool("bash"):
        found["bash"] = Language("bash", _version([bash, "--version"]), "main.sh", run=(bash, "main.sh"),
                                 marker="\nprintf '%s\\n' {nonce} >&3\n")
    return found
