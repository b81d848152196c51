"""The languages this host can run in the jail, and how each is compiled and started."""

from __future__ import annotations

import platform
import secrets
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
    # Proof that a script test ran to its end: code appended to it (interpreted) or, for a compiled language,
    # a second source read from the compiler's stdin with `script_flags`; {nonce}, {key}, {masked} are filled in.
    marker: str = ""
    script_flags: tuple[str, ...] = ()

    @property
    def forked(self) -> bool:
        return not self.run

    def marker_code(self, nonce: str) -> str:
        """The marker for one run: writes `nonce`, a zero length and no value to fd 3 (see worker._completion)."""
        text = (nonce + "\n0\n").encode()
        key = secrets.token_bytes(len(text))
        masked = bytes(a ^ b for a, b in zip(text, key, strict=True))
        return (self.marker.replace("{nonce}", nonce).replace("{key}", ", ".join(map(str, key)))
                .replace("{masked}", ", ".join(map(str, masked))))

    def public(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "compiled": bool(self.compile),
                "call_tests": self.forked}


# C++ script tests: the linker sends the program's entry to __wrap_main, which calls the real main and, only
# when it returned 0, writes the marker. It is its own translation unit, so the program's macros cannot reach
# it, and `__real_main` always means the real main, whatever the program defines. The marker is stored masked,
# so it is not in the binary as text; native code can still read its own memory, which no harness prevents.
CPP_MARKER = """
#include <unistd.h>
extern "C" int __real_main(int, char**, char**);
extern "C" int __wrap_main(int argc, char** argv, char** envp) {
    static volatile const unsigned char key[] = {{key}}, masked[] = {{masked}};
    int code = __real_main(argc, argv, envp);
    if (code == 0) {
        char marker[sizeof masked];
        for (unsigned i = 0; i < sizeof masked; ++i) marker[i] = char(masked[i] ^ key[i]);
        if (write(3, marker, sizeof marker) != (ssize_t)sizeof marker) return 1;
    }
    return code;
}
"""


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
                                compile=(gxx, "-O2", "-std=c++17", "-pipe", "-o", "main", "main.cpp"),
                                marker=CPP_MARKER, script_flags=("-x", "c++", "-", "-Wl,--wrap=main"))
    if node := _tool("node"):
        found["javascript"] = Language("javascript", "node " + _version([node, "--version"]), "main.js",
                                       run=(node, "main.js"),
                                       marker='\n;require("fs").writeSync(3, "{nonce}\\n0\\n");\n')
    if bash := _tool("bash"):
        found["bash"] = Language("bash", _version([bash, "--version"]), "main.sh", run=(bash, "main.sh"),
                                 marker="\nprintf '%s\\n0\\n' {nonce} >&3\n")
    return found
