"""The languages this host can run in the jail, and how each is compiled and started."""

from __future__ import annotations

import platform
import secrets
import shutil
import subprocess
from dataclasses import dataclass

from sandbox.jail import jail_python


@dataclass(frozen=True)
class Language:
    """How to build and start programs of one language inside the worker's work dir."""

    name: str
    version: str
    source: str  # the file the code is written to
    run: tuple[str, ...] = ()  # empty: Python's fast path, forked from the warm worker
    compile: tuple[str, ...] = ()
    # Script tests: how the program and its test start (interpreted: a harness that reads the test and its
    # completion marker from the worker's secret fd, never from a file; compiled: the build, with the test on
    # that fd and the marker's source, `marker` with {key} and {masked} filled in, on stdin).
    script: tuple[str, ...] = ()
    marker: str = ""

    @property
    def forked(self) -> bool:
        return not self.run

    def marker_code(self, nonce: str) -> str:
        """The marker for one run: writes `nonce`, a zero length and no value to fd 3 (see worker._completion)."""
        text = (nonce + "\n0\n").encode()
        key = secrets.token_bytes(len(text))
        masked = bytes(a ^ b for a, b in zip(text, key, strict=True))
        return self.marker.replace("{key}", ", ".join(map(str, key))).replace("{masked}", ", ".join(map(str, masked)))

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


# C++ script tests are built so that no macro of the program reaches the test: the program is preprocessed
# alone (g++ -E, which also lists the headers it included, -dI), the test is preprocessed alone after those same
# headers (so their include guards hold and it sees the declarations it needs, but none of the program's
# macros: NDEBUG, `#define main ...`), and the two token streams are compiled as one preprocessed (.ii) unit,
# where no directive is read any more (a `# define` made by expanding a macro is a stray '#'). The test reaches
# the build only on fd 4, after the program was preprocessed, and every source is gone before the program runs.
# $1 the compiler, $2 Python, then the request's own file names (headers the test may include with "").
CPP_SCRIPT_BUILD = r"""
set -e
cxx=$1 python=$2
shift 2
"$cxx" $FLAGS -E -dI -o main.ii main.cpp 4<&-
"$python" -I -S -c "$SPLIT" "$@" 4<&-
cat <&4 >test.cpp
exec 4<&-
"$cxx" $FLAGS -E -o prelude.ii prelude.cpp
sed -n '/^# 1 "test.cpp" 1$/,$p' prelude.ii >test.ii
cat solution.ii test.ii >combined.ii
rm -f main.cpp main.ii solution.ii prelude.cpp prelude.ii test.cpp test.ii
"$cxx" $FLAGS -pipe -o main combined.ii -x c++ - -Wl,--wrap=main
rm -f combined.ii
"""
# From the program's preprocessed text: solution.ii without the -dI include lines, and prelude.cpp with the
# includes the program's own file made (system headers by <name>; "name" only for the request's files).
CPP_SPLIT = r"""
import re, sys
marker = re.compile(r'# \d+ "((?:[^"\\]|\\.)*)"(?: \d)*$')
include = re.compile(r'#include ([<"])([A-Za-z0-9_+.-][A-Za-z0-9_+./-]*)[>"]$')
current, kept = "", []
with open("main.ii") as source, open("solution.ii", "w") as out:
    for line in source:
        text = line.rstrip("\n")
        found = marker.match(text)
        if found:
            current = found.group(1)
        if text.startswith(("#include", "#import")):
            name = include.match(text)
            if current == "main.cpp" and name and ".." not in name.group(2).split("/") and (
                    name.group(1) == "<" or name.group(2) in sys.argv[1:]):
                kept.append(text)
            continue
        out.write(line)
with open("prelude.cpp", "w") as prelude:
    prelude.write("\n".join(kept + ['#include "test.cpp"', ""]))
"""
CPP_FLAGS = "-O2 -std=c++17"

# JavaScript script tests: the program runs as a script of this context (its top-level names are the test's),
# then the test runs as a function of its own whose outer scope holds the real `require`, `assert`, `process`:
# assert, assert/strict and util come from copies taken before the program ran (assert frozen), so neither a
# `Module.prototype.require` hook nor patching them reaches the test; process.exit and friends, and the
# standard globals' properties (Math.abs, JSON.stringify, Array.prototype...) that the program replaced, are
# put back before the test, by functions captured before the program ran (the harness calls no method the
# program could patch). The marker was read from fd 4 and closed before the program started, it is in no file,
# argument or variable the program can name, and it is written only after the test returned.
JS_HARNESS = r"""'use strict';
(() => {  // a function's scope: a top-level const of `node -e` would be a global the program could read
const fs = require('fs'), path = require('path'), vm = require('vm'), Module = require('module');
const util = require('util'), assert = require('assert');
const { defineProperty, getOwnPropertyDescriptor, getOwnPropertyDescriptors, freeze, create } = Object;
const { ownKeys } = Reflect;
const input = fs.readFileSync(4, 'utf8');
fs.closeSync(4);
const cut = input.indexOf('\n');
const marker = Buffer.from(input.slice(0, cut) + '\n0\n'), test = input.slice(cut + 1);
const writeSync = fs.writeSync, exitNow = process.reallyExit.bind(process), inspect = util.inspect;
const compileFunction = vm.compileFunction;
const saved = [];  // [holder, its own property descriptors], taken before the program ran
const save = (holder) => { if (holder) saved.push([holder, getOwnPropertyDescriptors(holder)]); };
const exits = create(null);  // of process, only how it ends: its other fields change as it runs
for (const key of ['exit', 'reallyExit', 'abort', 'kill']) exits[key] = getOwnPropertyDescriptor(process, key);
saved.push([process, exits]);
const standard = ['Object', 'Function', 'Array', 'Number', 'String', 'Boolean', 'Symbol', 'BigInt', 'Math', 'JSON',
                  'Reflect', 'Date', 'RegExp', 'Map', 'Set', 'WeakMap', 'WeakSet', 'Promise', 'Error', 'TypeError',
                  'RangeError', 'ArrayBuffer', 'Uint8Array', 'Int32Array', 'Float64Array', 'Buffer'];
for (let i = 0; i < standard.length; i++) {
  const value = globalThis[standard[i]];
  save(value);
  save(value && value.prototype);
}
save(globalThis);
const restore = () => {
  for (let i = 0; i < saved.length; i++) {
    const holder = saved[i][0], was = saved[i][1], keys = ownKeys(was);
    for (let k = 0; k < keys.length; k++) {
      const now = getOwnPropertyDescriptor(holder, keys[k]), then = was[keys[k]];
      if (!now || now.value !== then.value || now.get !== then.get || now.set !== then.set) {
        defineProperty(holder, keys[k], then);
      }
    }
  }
};
const deepFreeze = (value, seen) => {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) return;
  seen.add(value);
  freeze(value);
  const keys = ownKeys(value);
  for (let k = 0; k < keys.length; k++) {
    const field = getOwnPropertyDescriptor(value, keys[k]);
    if ('value' in field) deepFreeze(field.value, seen);
  }
};
deepFreeze(assert, new Set());
const own = create(null);
own.assert = own['node:assert'] = assert;
own['assert/strict'] = own['node:assert/strict'] = assert.strict;
own.util = own['node:util'] = freeze({ ...util });
const file = path.resolve('main.js'), dir = path.dirname(file), main = new Module(file, null);
main.filename = file;
main.paths = Module._nodeModulePaths(dir);
process.mainModule = main;
const programRequire = Module.createRequire(file);
programRequire.main = main;
const testRequire = (name) => (typeof name === 'string' && own[name]) || programRequire(name);
Object.assign(globalThis, { require: programRequire, module: main, exports: main.exports, __filename: file,
                            __dirname: dir });
vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
main.loaded = true;
try {
  restore();
  const scope = { require: testRequire, module: main, exports: main.exports, __filename: file, __dirname: dir,
                  process, assert };
  compileFunction(test, [], { filename: 'test.js', contextExtensions: [scope] })();
} catch (error) {
  writeSync(2, inspect(error) + '\n');
  exitNow(1);
}
writeSync(3, marker);
})();
"""

# bash script tests: one compound command, parsed before the program runs (its aliases cannot rewrite it).
# `enable` is switched off before the program, so it cannot switch builtins off; after it, POSIX mode puts
# the special builtins (exit, unset, eval, trap, ...) before functions, every function named after a builtin
# is removed, and aliases, DEBUG/ERR traps, extdebug, nocasematch, PATH, IFS and the command hash are reset.
# Any of that failing (a readonly POSIXLY_CORRECT, PATH or IFS) leaves the test unrun and unmarked. The test
# and its marker come from fd 4; the marker is held in a shell variable, where code that knows this harness
# could read it (bash has no private state): prefer io tests.
BASH_HARNESS = r"""{ IFS= read -r -d '' __rlvr_input <&4; exec 4<&-
readonly __rlvr_marker="${__rlvr_input%%$'\n'*}" __rlvr_test="${__rlvr_input#*$'\n'}"
unset __rlvr_input
readonly -a __rlvr_builtins=($(compgen -b))
enable -n enable
. ./main.sh
POSIXLY_CORRECT=y PATH=/usr/local/bin:/usr/bin:/bin IFS=$' \t\n'
if [[ -o posix && $PATH == /usr/local/bin:/usr/bin:/bin && $IFS == $' \t\n' ]]; then
  unset -f -- "${__rlvr_builtins[@]}" command_not_found_handle
  unalias -a
  trap - DEBUG ERR RETURN
  shopt -u extdebug nocasematch
  hash -r
  eval "$__rlvr_test"$'\n''builtin printf "%s\n0\n" "$__rlvr_marker" >&3'
fi; }
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
        build = CPP_SCRIPT_BUILD.replace("$FLAGS", CPP_FLAGS).replace('"$SPLIT"', _sh_quote(CPP_SPLIT))
        found["cpp"] = Language("cpp", _version([gxx, "--version"]), "main.cpp", run=("./main",),
                                compile=(gxx, *CPP_FLAGS.split(), "-pipe", "-o", "main", "main.cpp"),
                                script=("/bin/sh", "-c", build, "build", gxx, jail_python()), marker=CPP_MARKER)
    if node := _tool("node"):
        found["javascript"] = Language("javascript", "node " + _version([node, "--version"]), "main.js",
                                       run=(node, "main.js"), script=(node, "-e", JS_HARNESS))
    if bash := _tool("bash"):
        found["bash"] = Language("bash", _version([bash, "--version"]), "main.sh", run=(bash, "main.sh"),
                                 script=(bash, "-c", BASH_HARNESS, "main.sh"))
    return found


def _sh_quote(text: str) -> str:
    """`text` as one single-quoted sh word."""
    return "'" + text.replace("'", "'\\''") + "'"
