"""Assemble the Python program a completion presents, from its blocks' top-level units.

Two ways to look: by names (call and script tests: the latest definition of each name the tests use, the
definitions those need, transitively, and the imports that bind them; top-level usage, self-tests and
`__main__` blocks are left out), or as a program (io tests: the latest block that reads input is the program,
whole, plus definitions from other blocks that it uses). A name defined in several blocks is taken from one
only: the block being assembled if it defines it, else the latest definition; two versions are never mixed.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field

from rewards.graders.codeextract.continuation import Body, split_body, starts_indented
from rewards.graders.codeextract.python import (
    BUILTINS,
    Parsed,
    Unit,
    binding_forms,
    defined_names,
    fakes_input,
    function_free,
    guessed_definition,
    parse_block,
    reads_input,
    writes_output,
)

MAX_DROPPED = 30
# builtins another block's definition never stands in for (a self-test's fake `input` is not the program's)
_IO_BUILTINS = frozenset({"input", "raw_input", "print", "open", "exit", "quit"})
BINDING_KINDS = ("def", "assign", "import", "other", "body", "setup")


@dataclass
class Source:
    """A candidate block: its index in the completion (or -1 for text outside fences), tag and text."""

    index: int
    tag: str
    text: str


@dataclass
class Choice:
    """The assembled program (None: nothing to run) and how it was found."""

    code: str | None
    used: dict[int, list[str]] = field(default_factory=dict)
    dropped: list[dict[str, object]] = field(default_factory=list)
    reason: str | None = None
    missing: bool = False  # no block defines any of the names looked for


@dataclass
class _Pool:
    units: list[Unit] = field(default_factory=list)
    broken: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # name -> (block, pos) of broken defs
    dropped: list[dict[str, object]] = field(default_factory=list)
    # the text continues the prefix (a base model's stream, no retractions): its body, else the first
    # definition of a name, is the answer, and what the prefix itself defines is never taken from it
    continuation: bool = False
    provided: set[str] = field(default_factory=set)
    by_block: dict[int, list[Unit]] = field(default_factory=dict)  # indices built by `index` (no rescans)
    by_name: dict[str, list[Unit]] = field(default_factory=dict)

    def index(self) -> None:
        for unit in self.units:
            self.by_block.setdefault(unit.block, []).append(unit)
            for name in unit.defines:
                self.by_name.setdefault(name, []).append(unit)

    def drop(self, block: int, what: str, why: str) -> None:
        if len(self.dropped) < MAX_DROPPED:
            first = next((line.strip() for line in what.splitlines() if line.strip()), "")
            self.dropped.append({"block": block, "what": first[:100], "why": why})


def _first_line(unit: Unit) -> str:
    return next((x.strip() for x in unit.source.splitlines() if x.strip() and not x.startswith("@")), "")[:100]


def _can_bind(unit: Unit) -> bool:
    """Whether a unit may be taken as the definition of a name it binds (not usage code that binds a loop var)."""
    if unit.kind not in BINDING_KINDS or unit.stub:
        return False
    return unit.kind != "other" or _quiet(unit.node)


def _quiet(node: ast.AST) -> bool:
    """Neither writes output nor reads input."""
    return not reads_input(node) and not writes_output(node)


def _only_definitions(body: Body) -> bool:
    """Whether a body joined to the open function holds nothing but definitions and imports (an indented
    answer that restates the function, read as nested code of the prefix's)."""
    stmts = [n for n in body.node.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return bool(stmts) and all(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import
                                          | ast.ImportFrom) for n in stmts) and any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == body.name for n in stmts)


def _load(sources: list[Source], prefix: str, quoted: set[str], continuation: bool,
          answers: set[str] | None = None) -> _Pool:
    """The blocks' units; a quote of the prompt's code is left out when it defines one of `answers` (the
    names the tests use; None: any name, for an io program)."""
    pool = _Pool(continuation=continuation, provided=defined_names(prefix) if continuation else set())
    for source in sources:
        text, offset = source.text, 0
        if starts_indented(text):
            body = split_body(prefix, text)
            try:
                uses = frozenset(function_free(body.node) - {body.name}) if isinstance(body, Body) \
                    else frozenset()
            except (RecursionError, MemoryError):
                body = "the body is nested too deeply to analyse"
            if isinstance(body, Body) and _only_definitions(body):
                text = textwrap.dedent(text)  # the whole answer indented: its own code, not the open function's
            elif isinstance(body, Body):
                pool.units.append(Unit(source.index, -1, body.text, body.node, "body",
                                       frozenset({body.name}), uses))
                text, offset = body.rest, 1
            elif isinstance(body, str):  # a fragment that is no whole body: never an answer, nor a version of the
                pool.drop(source.index, text, body)  # open function; but a def in it is a (broken) version
                if (name := guessed_definition(textwrap.dedent(text))) is not None:
                    pool.broken.setdefault(name, []).append((source.index, 0))
                continue
            else:
                text = textwrap.dedent(text)
        parsed: Parsed = parse_block(text, source.index)
        for chunk in parsed.broken:
            pool.drop(source.index, chunk, "does not parse")
        for chunk in parsed.too_deep:
            pool.drop(source.index, chunk, "nested too deeply to analyse")
        for name, pos in parsed.broken_defs.items():
            pool.broken.setdefault(name, []).append((source.index, pos + offset))
        for unit in parsed.units:
            unit.pos += offset
            # a quote of the prompt's code is never the answer; a helper the prompt gives, restated, may stay
            if quoted and not unit.stub and (answers is None or unit.defines & answers) and any(
                    form in quoted for form in binding_forms(unit)):
                pool.drop(source.index, unit.source, "quoted from the prompt")
                continue
            pool.units.append(unit)
    pool.index()
    return pool


class _Resolver:
    """Finds, for a name, the unit that defines it: in the block asking, else the latest anywhere."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool

    def definers(self, name: str, block: int | None = None) -> list[tuple[int, int, Unit | None]]:
        units = self.pool.by_name.get(name, [])
        found: list[tuple[int, int, Unit | None]] = [(u.block, u.pos, u) for u in units if _can_bind(u)]
        if not self.pool.continuation:
            # a later stub (the signature restated, no body) or broken version is the model's latest: no
            # answer; in a continuation (a stream where the first real definition counts) both are skipped
            found += [(b, p, None) for b, p in self.pool.broken.get(name, [])]
            found += [(u.block, u.pos, None) for u in units if u.stub]
        if block is not None:
            found = [f for f in found if f[0] == block]
        return sorted(found, key=lambda f: (f[0], f[1]))

    def latest(self, name: str, block: int | None = None) -> tuple[bool, Unit | None]:
        """(found, unit); found with unit None means the latest definition does not parse."""
        here = self.definers(name, block) if block is not None else []
        pick = here or self.definers(name)
        bodies = [f for f in pick if f[2] is not None and f[2].kind == "body"]
        if bodies and self.pool.continuation:
            pick = bodies
        elif bodies and len(bodies) < len(pick):  # a chat answer's bare body counts only when nothing else does
            pick = [f for f in pick if f not in bodies]
        if not pick or self.pool.continuation and name in self.pool.provided:
            return False, None
        return True, pick[0 if self.pool.continuation else -1][2]

    def earlier(self, name: str, unit: Unit) -> Unit | None:
        """The definition of `name` that `unit` rebinds (`add = lru_cache(add)`): the latest one before it."""
        before = [f for f in self.definers(name) if f[2] is not None and (f[0], f[1]) < (unit.block, unit.pos)]
        return before[-1][2] if before else None


def _closure(pool: _Pool, roots: list[Unit], used: dict[int, list[str]],
             overrides: dict[str, Unit] | None = None) -> tuple[list[Unit], list[str]]:
    """The roots and every unit they need, transitively (`overrides`: names already settled on a unit);
    names whose latest definition is broken."""
    resolver = _Resolver(pool)
    chosen: list[Unit] = []
    seen: set[int] = set()
    broken: list[str] = []
    queue = list(roots)
    extras_added = False
    while queue or not extras_added:
        if not queue:  # then the star imports and setup calls of the blocks taken, with what they need
            extras_added = True
            taken = {c.block for c in chosen}
            queue = [u for u in pool.units if u.block in taken and id(u) not in seen and (
                u.kind == "setup" or isinstance(u.node, ast.ImportFrom) and any(a.name == "*" for a in u.node.names))]
            continue
        unit = queue.pop(0)
        if id(unit) in seen:
            continue
        seen.add(id(unit))
        chosen.append(unit)
        for name in sorted(unit.uses):
            if name in unit.defines:  # a rebinding that wraps the earlier value needs that value
                dep = resolver.earlier(name, unit) if unit.kind == "assign" else None
                found = dep is not None
            elif overrides and name in overrides:
                found, dep = True, overrides[name]
            else:
                found, dep = resolver.latest(name, unit.block)
                if name in BUILTINS and dep is not None and dep.block != unit.block and (
                        dep.kind != "def" or name in _IO_BUILTINS):
                    found, dep = False, None  # a builtin is shadowed from elsewhere only by a function
            if found and dep is None:
                broken.append(name)
            elif dep is not None and id(dep) not in seen:
                used.setdefault(dep.block, []).append(
                    f"{'imports' if dep.kind == 'import' else 'defines'} {name} (used by {_label(unit)})")
                queue.append(dep)
                if dep.kind == "assign":
                    queue += _fillers(pool, dep, name)
    return chosen, broken


def _fillers(pool: _Pool, table: Unit, name: str) -> list[Unit]:
    """Top-level statements after `table` in its block that fill the object it binds (`memo[i] = ...` in a
    loop, `PRIMES.append(...)`): a precomputed table is empty without them. Never ones that print or read."""
    def fills(node: ast.AST) -> bool:
        for n in ast.walk(node):
            target = n.value if isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store) \
                else n.func.value if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) else None
            if isinstance(target, ast.Name) and target.id == name:
                return True
        return False

    return [u for u in pool.by_block.get(table.block, []) if u.pos > table.pos
            and u.kind in ("assign", "other", "usage") and not isinstance(u.node, ast.Assert)
            and _quiet(u.node) and fills(u.node)]


def _label(unit: Unit) -> str:
    return ", ".join(sorted(unit.defines)) if unit.kind in ("def", "body") else f"block {unit.block} top level"


def _emit(pool: _Pool, chosen: list[Unit], prefix: str, main: int, last: Unit | None = None) -> str:
    """Body (joined to the prefix) first, then imports, then the other blocks' units, then block `main`'s,
    then `last`."""
    body = [u for u in chosen if u.kind == "body"]
    rest = sorted((u for u in chosen if u.kind != "body"),
                  key=lambda u: (u is last, u.block == main, u.block, u.pos))
    future = [u for u in rest if isinstance(u.node, ast.ImportFrom) and u.node.module == "__future__"]
    if prefix:
        for unit in future:
            pool.drop(unit.block, unit.source, "a __future__ import cannot follow the prefix")
        future = []
    imports = [u for u in rest if u.kind == "import" and u not in future]
    others = [u for u in rest if u.kind != "import"]
    parts = [body[-1].source] if body else []
    parts += [u.source for u in future] + [u.source for u in imports]
    previous = None
    for unit in others:
        if parts and (previous is not None and previous != unit.block or unit.kind == "def"):
            parts.append("\n")
        parts.append(unit.source)
        previous = unit.block
    return "".join(parts)


def _report_dropped(pool: _Pool, chosen: list[Unit], superseded: dict[int, int]) -> None:
    taken = {id(u) for u in chosen}
    for unit in pool.units:
        if id(unit) in taken or unit.kind == "noop":
            continue
        if id(unit) in superseded:
            why = f"superseded by the definition in block {superseded[id(unit)]}"
        elif unit.kind == "main":
            why = "__main__ block"
        elif unit.kind == "usage" or unit.kind == "other" and not _can_bind(unit):
            why = "top-level usage or self-test"
        elif unit.stub:
            why = "a stub, not an answer"
        else:
            why = "not needed by the tested names"
        pool.drop(unit.block, unit.source, why)


def by_names(sources: list[Source], targets: set[str], prefix: str, quoted: set[str],
             continuation: bool = False) -> Choice:
    """The latest definition of each name the tests use, with what it needs (call and script tests)."""
    pool = _load(sources, prefix, quoted, continuation, targets)
    resolver = _Resolver(pool)
    used: dict[int, list[str]] = {}
    roots: list[Unit] = []
    for name in sorted(targets):
        found, unit = resolver.latest(name)
        if found and unit is None:
            return Choice(None, {}, pool.dropped, f"the latest definition of {name} is a stub or does not parse")
        if unit is not None and unit.kind in ("def", "body", "assign", "other", "import"):
            roots.append(unit)
            joined = ", as the body of the prefix's open function" if unit.kind == "body" else ""
            used.setdefault(unit.block, []).append(f"defines {name} (the tests use it){joined}")
    if not roots:
        wanted = ", ".join(sorted(targets)) or "?"
        return Choice(None, {}, pool.dropped, f"the completion defines none of the names the tests use ({wanted})",
                      missing=True)
    chosen, broken = _closure(pool, roots, used)
    superseded = _superseded(pool, chosen)
    _report_dropped(pool, chosen, superseded)
    if broken:
        return Choice(None, used, pool.dropped,
                      f"the latest definition of {', '.join(broken)} is a stub or does not parse")
    return Choice(_emit(pool, chosen, prefix, roots[0].block), used, pool.dropped)


def _superseded(pool: _Pool, chosen: list[Unit]) -> dict[int, int]:
    """Units left out because a chosen unit (another version) defines the same name."""
    out: dict[int, int] = {}
    taken = {id(u) for u in chosen}
    owner: dict[str, int] = {}  # name -> block of the first chosen unit defining it
    for c in chosen:
        if c.kind in ("def", "body", "assign"):
            for name in c.defines:
                owner.setdefault(name, c.block)
    for unit in pool.units:
        if id(unit) in taken or unit.kind not in ("def", "body", "assign"):
            continue
        blocks = [owner[n] for n in sorted(unit.defines) if n in owner]
        if blocks:
            out[id(unit)] = blocks[0]
    return out


def as_program(sources: list[Source], prefix: str, quoted: set[str], continuation: bool = False) -> Choice:
    """The latest block that reads input (else the latest with top-level code) is the program (io tests)."""
    pool = _load(sources, prefix, quoted, continuation)
    blocks = sorted({u.block for u in pool.units})
    readers = [b for b in blocks if any(reads_input(u.node) for u in pool.by_block[b])
               and not any(fakes_input(u.node) for u in pool.by_block[b])]
    runners = [b for b in blocks if any(u.kind in ("main", "usage", "other") for u in pool.by_block[b])]
    # a block that reads but neither writes, runs anything nor calls the completion's functions is a snippet
    # ("read it with sys.stdin.read()"), not the program; the latest reader that does is, however it
    # writes (never an earlier one because its way of writing was not recognised)
    programs = [b for b in readers if b in runners or any(
        writes_output(u.node) or u.kind == "def" and any(n in pool.by_name for n in u.uses)
        for u in pool.by_block[b])]
    if not readers and not runners:
        return Choice(None, {}, pool.dropped, "no block is a program (none reads input or runs anything)")
    block = (programs or readers or runners)[-1]
    used = {block: ["the program (reads input)" if readers else "the program (runs code at top level)"]}
    resolver = _Resolver(pool)
    roots: list[Unit] = []
    overrides: dict[str, Unit] = {}
    for unit in (u for u in pool.by_block[block] if u.kind != "noop"):
        newer = None
        if unit.kind == "def" and len(unit.defines) == 1:
            (name,) = unit.defines
            newer = resolver.latest(name)[1]
        if newer is not None and newer is not unit and newer.block > block and newer.kind == "def":
            used.setdefault(newer.block, []).append(f"defines {name} (a later version than block {block}'s)")
            roots.append(newer)
            overrides[name] = newer
        else:
            roots.append(unit)
    launcher = None if any(u.kind in ("main", "usage", "other") for u in roots) else _launcher(pool, roots)
    if launcher is not None:
        used.setdefault(launcher.block, []).append(
            f"runs the program (block {block} defines {_first_line(launcher)[:40]} but never calls it)")
        roots.append(launcher)
    chosen, broken = _closure(pool, roots, used, overrides)
    _report_dropped(pool, chosen, _superseded(pool, chosen))
    if broken:
        return Choice(None, used, pool.dropped,
                      f"the latest definition of {', '.join(broken)} is a stub or does not parse")
    return Choice(_emit(pool, chosen, prefix, block, launcher), used, pool.dropped)


def _launcher(pool: _Pool, roots: list[Unit]) -> Unit | None:
    """The latest `main()` (a call with no arguments of a function the program defines, bare or under a
    `__main__` guard) in another block: what runs a program block that only defines functions."""
    defined = set().union(*(u.defines for u in roots if u.kind == "def"))
    found = None
    for unit in pool.units:
        calls: list[ast.stmt] = []
        if unit.kind == "usage":
            calls = [unit.node]
        elif unit.kind == "main" and isinstance(unit.node, ast.If):  # a `__main__` guard is always an `if`
            calls = unit.node.body
        if calls and all(isinstance(c, ast.Expr) and isinstance(c.value, ast.Call) and not c.value.args
                         and not c.value.keywords and isinstance(c.value.func, ast.Name)
                         and c.value.func.id in defined for c in calls):
            found = unit
    return found
