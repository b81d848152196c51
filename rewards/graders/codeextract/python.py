"""Python analysis with `ast` only (nothing is ever run): the top-level units of a block, what each defines
and uses (free names, scope by scope), which names the tests reach and what the prefix declares
(`program.py` assembles the program from these).

A block that does not parse as a whole is split at its top-level statements; a statement that cannot be
parsed (a truncated last line, prose inside a fence) is dropped on its own, and a dropped `def f` still
counts as the block's (broken) version of `f`, so an earlier version never stands in for it.
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import textwrap
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field

_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__builtins__", "__spec__"})
BUILTINS = frozenset(dir(builtins)) | _MODULE_NAMES
MAX_CHUNKS = 400  # top-level statements looked at per block; the rest are dropped as too many
MAX_MERGE = 40  # a statement may span this many column-0 lines (strings, closing brackets)
_CONTINUES = re.compile(r"^(else\b|elif\b|except\b|finally\b|[)\]}])")
# a line that defines a name, also inside `if True:`/`try:`: def, class, or a lambda assigned
_DEF_GUESS = re.compile(r"^[ \t]*(?:(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)[ \t]*=[ \t]*lambda\b)")
_INPUT_CALLS = frozenset({"input", "raw_input"})


def parse(source: str) -> ast.Module | None:
    """The module, or None when it does not parse (also for inputs that crash the parser)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


@dataclass
class Unit:
    """One top-level statement (decorators included) of a block."""

    block: int
    pos: int
    source: str
    node: ast.stmt
    kind: str  # import, def, assign, main, usage, setup, noop, other
    defines: frozenset[str]
    uses: frozenset[str]  # builtins included: a function of the completion's may shadow one (`def sum`)
    stub: bool = False


@dataclass
class Parsed:
    """A block's units, the chunks that did not parse, and the names those broken chunks would define."""

    units: list[Unit] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    broken_defs: dict[str, int] = field(default_factory=dict)  # name -> position among the units
    too_deep: list[str] = field(default_factory=list)  # statements nested too deeply to analyse: dropped


def _chunks(source: str) -> list[str]:
    """Split at lines that start a top-level statement (column 0), keeping decorators with their def."""
    chunks: list[list[str]] = []
    for line in source.splitlines(keepends=True):
        starts = line[:1] not in ("", " ", "\t", "\n", "\r", "#") and not _CONTINUES.match(line)
        if starts and chunks and not all(x.startswith("@") or not x.strip() or x.startswith("#")
                                         for x in chunks[-1]):
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
        else:
            chunks.append([line])
    return ["".join(c) for c in chunks]


def _scope_free(nodes: Sequence[ast.AST], bound: set[str]) -> set[str]:
    """Names a scope (function, lambda, comprehension) reads but does not bind: its free names."""
    loads: set[str] = set()
    stores = set(bound)
    globs: set[str] = set()
    for node in nodes:
        _visit(node, loads, stores, globs)
    return loads - (stores - globs)


def function_free(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    args = fn.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    return _scope_free(body, params)


def _visit(root: ast.AST, loads: set[str], stores: set[str], globs: set[str]) -> None:
    """Collect what one scope loads and binds; nested scopes contribute their free names as loads. The scope
    is walked with a stack (a 1,000-term expression is no deeper for it than a short one)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stores.add(node.name)
            args = node.args
            stack += [*node.decorator_list, *args.defaults, *[d for d in args.kw_defaults if d is not None],
                      *[a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                               args.vararg, args.kwarg] if a is not None and a.annotation],
                      *([node.returns] if node.returns else [])]
            loads |= function_free(node)
        elif isinstance(node, ast.Lambda):
            stack += node.args.defaults
            loads |= function_free(node)
        elif isinstance(node, ast.ClassDef):
            stores.add(node.name)
            stack += [*node.decorator_list, *node.bases, *[k.value for k in node.keywords]]
            loads |= _scope_free(node.body, set())
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            targets: set[str] = set()
            for gen in node.generators:
                targets |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
            loads |= _comprehension_free(node, targets)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            globs.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    stores.add(alias.asname or alias.name.split(".")[0])
        else:
            if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
                stores.add(node.name)
            stack.extend(ast.iter_child_nodes(node))


def _comprehension_free(node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
                        targets: set[str]) -> set[str]:
    loads: set[str] = set()
    stores = set(targets)
    globs: set[str] = set()
    parts: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    for gen in node.generators:
        parts += [gen.iter, *gen.ifs]
    for part in parts:
        _visit(part, loads, stores, globs)
    return loads - stores


def names_of(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names a top-level statement reads, names it binds at module level)."""
    loads: set[str] = set()
    stores: set[str] = set()
    _visit(node, loads, stores, set())
    return loads, stores


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return isinstance(test, ast.Compare) and any(
        isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(test)) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in ast.walk(test))


def is_stub(node: ast.stmt) -> bool:
    """A def whose body is only a docstring, `pass`, `...` or `raise NotImplementedError`: no answer."""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    for stmt in node.body:
        if isinstance(stmt, ast.Pass) or isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Raise) and any(isinstance(n, ast.Name) and n.id == "NotImplementedError"
                                               for n in ast.walk(stmt)):
            continue
        return False
    return True


def reads_input(node: ast.AST) -> bool:
    """Whether code reads standard input (input(), sys.stdin, open(0), fileinput)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and (n.id in _INPUT_CALLS or n.id == "stdin"):
            return True
        if isinstance(n, ast.Attribute) and n.attr == "stdin" or isinstance(n, ast.Name) and n.id == "fileinput":
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open" and n.args and \
                isinstance(n.args[0], ast.Constant) and n.args[0].value == 0:
            return True
    return False


def fakes_input(node: ast.AST) -> bool:
    """Whether code replaces standard input itself (`sys.stdin = io.StringIO(sample)`, `input = ...`, a mock
    of `builtins.input`): a self-test, not the program that reads the judge's input. A StringIO used to
    buffer output is no such thing."""
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and n.attr == "stdin" and isinstance(n.ctx, ast.Store):
            return True
        # `input = lambda: next(lines)` fakes it; `input = sys.stdin.readline` only reads faster
        if isinstance(n, ast.Assign) and not reads_input(n.value) and any(
                isinstance(t, ast.Name) and t.id in ("stdin", *_INPUT_CALLS) for t in n.targets):
            return True
        if isinstance(n, ast.Constant) and n.value in ("builtins.input", "sys.stdin"):
            return True
    return False


def writes_output(node: ast.AST) -> bool:
    """Whether code writes standard output: print (called or passed on), sys.stdout / stdout imported from
    sys, `os.write(1, ...)`, `open(1, ...)`."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in ("print", "stdout", "__stdout__") or \
                isinstance(n, ast.Attribute) and n.attr in ("stdout", "__stdout__"):
            return True
        if isinstance(n, ast.alias) and n.name in ("stdout", "__stdout__"):
            return True
        if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Constant) and n.args[0].value == 1 \
                and (isinstance(n.func, ast.Attribute) and n.func.attr in ("write", "fdopen")
                     or isinstance(n.func, ast.Name) and n.func.id in ("write", "open", "fdopen")):
            return True
    return False


def _classify(node: ast.stmt) -> str:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "import"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return "def"
    if _is_main_guard(node):
        return "main"
    if isinstance(node, ast.Assign | ast.AugAssign) or isinstance(node, ast.AnnAssign) and node.value is not None:
        return "assign"
    if isinstance(node, ast.Pass) or isinstance(node, ast.AnnAssign) or isinstance(node, ast.Expr) and \
            isinstance(node.value, ast.Constant | ast.Name | ast.Attribute):
        return "noop"
    if isinstance(node, ast.Assert):
        return "usage"
    if isinstance(node, ast.Expr):
        return "setup" if _is_setup_call(node.value) else "usage"
    return "other"


def _is_setup_call(value: ast.expr) -> bool:
    """A call on an imported module's attribute that neither prints nor reads input (sys.setrecursionlimit)."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
        isinstance(value.func.value, ast.Name) and value.func.value.id in ("sys", "random", "threading", "gc", "os") \
        and value.func.attr in ("setrecursionlimit", "seed", "stack_size", "disable", "set_int_max_str_digits")


def _unit(block: int, pos: int, source: str, node: ast.stmt) -> Unit:
    loads, stores = names_of(node)
    kind = _classify(node)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        loads.discard(node.name)
    return Unit(block, pos, source, node, kind, frozenset(stores), frozenset(loads - _MODULE_NAMES),
                stub=is_stub(node))


def _bound_by(node: ast.stmt) -> set[str]:
    """Names a statement binds at the top level, read off its shape only (for one too deep to analyse)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, ast.AugAssign | ast.AnnAssign) else []
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _units_of(module: ast.Module, source: str, block: int, first_pos: int, result: Parsed) -> None:
    """Append the module's statements to `result` as units; one nested too deeply for the analysis (a
    1,000-deep lambda) is dropped, and counts as a broken version of the names it binds."""
    lines = source.splitlines(keepends=True)
    units = result.units
    last_end = 0
    for node in module.body:
        start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
        end = node.end_lineno or node.lineno
        text = "".join(lines[start - 1:end])
        try:
            if len(units) > first_pos and start <= last_end:  # several statements on one line: kept together
                previous = units[-1]
                loads, stores = names_of(ast.Module(body=[previous.node, node], type_ignores=[]))
                units[-1] = Unit(block, previous.pos, previous.source, previous.node, "other", frozenset(stores),
                                 frozenset(loads - _MODULE_NAMES))
            else:
                units.append(_unit(block, len(units), text if text.endswith("\n") else text + "\n", node))
            last_end = end
        except (RecursionError, MemoryError):
            result.too_deep.append(text)
            for name in _bound_by(node):
                result.broken_defs[name] = len(units)
            last_end = 0


def _may_continue(chunk: str) -> bool:
    """Whether a statement that does not parse alone may go on past the next column-0 line: only an open
    string, bracket or backslash continuation can carry it there."""
    opened = sum(chunk.count(c) for c in "([{") > sum(chunk.count(c) for c in ")]}")
    return opened or '"""' in chunk or "\'\'\'" in chunk or chunk.rstrip().endswith("\\")


def guessed_definition(text: str) -> str | None:
    """The first name a text that does not parse would define (`def f(`, `class C`, `f = lambda`)."""
    match = next((m for m in map(_DEF_GUESS.match, text.splitlines()) if m), None)
    return None if match is None else match.group(1) or match.group(2)


def _placeholder(chunk: str) -> bool:
    """A def whose body is only comments (`# ... implementation as above ...`): an elision that points at an
    earlier version, not a new (broken) one."""
    lines = chunk.splitlines()
    start, match = next((i, m) for i, line in enumerate(lines) if (m := _DEF_GUESS.match(line)))
    return match.group(1) is not None and all(not x.strip() or x.strip().startswith("#") or x.strip() in ("...", "pass") for x in lines[start + 1:])


def parse_block(source: str, block: int) -> Parsed:
    """The block's top-level units; statements that do not parse are dropped one by one (never a part of one)."""
    result = Parsed()
    module = parse(source)
    if module is not None:
        _units_of(module, source, block, 0, result)
        return result
    chunks = _chunks(source)
    if len(chunks) > MAX_CHUNKS:
        result.broken.append(f"{len(chunks) - MAX_CHUNKS} statements past the first {MAX_CHUNKS}")
        chunks = chunks[:MAX_CHUNKS]
    budget = 4 * len(source) + 100_000  # characters parsed in all: degenerate text must stay cheap
    i = 0
    while i < len(chunks):
        reach = MAX_MERGE if budget > 0 and _may_continue(chunks[i]) else 1
        for j in range(i + 1, min(len(chunks), i + reach) + 1):
            text = "".join(chunks[i:j])
            budget -= len(text)
            module = parse(text)
            if module is not None:
                _units_of(module, text, block, len(result.units), result)
                i = j
                break
        else:
            guess = guessed_definition(chunks[i])
            if guess and not _placeholder(chunks[i]):
                result.broken_defs[guess] = len(result.units)
            if chunks[i].strip():
                result.broken.append(chunks[i])
            i += 1
    return result


def names_used_by_test(code: str) -> set[str]:
    """Names a script test reads but does not define itself (the solution's functions it calls)."""
    module = parse(code)
    if module is None:
        return set()
    try:
        loads, stores = names_of(module)
    except (RecursionError, MemoryError):
        return set()
    return loads - stores - BUILTINS


def declared_names(prefix: str) -> set[str]:
    """Functions and classes the reference's prefix declares (what the model is asked to write)."""
    module = parse(prefix)
    if module is None:
        return set()
    return {n.name for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def defined_names(prefix: str) -> set[str]:
    """Functions and classes the prefix defines with a body (given to the model, not asked of it)."""
    module = parse(prefix)
    if module is None:
        return set()
    return {n.name for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not is_stub(n)}


def normal_form(source: str) -> str | None:
    """A statement's tokens with comments and blank lines left out (layout kept as markers): equal for the
    same code written with other spacing. Made without recursion, so no nesting is too deep for it."""
    layout = {tokenize.INDENT: ">", tokenize.DEDENT: "<", tokenize.NEWLINE: ";"}
    try:
        tokens = tokenize.generate_tokens(io.StringIO(textwrap.dedent(source)).readline)
        return "\x00".join(layout.get(t.type, t.string) for t in tokens
                           if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def binding_forms(unit: Unit) -> list[str]:
    """Normal forms of the definitions a statement binds: a def or class, a lambda assigned to a name, and
    those inside `if`/`try`/`with` wrappers (`if True:` around a quoted def is still the quote)."""
    if unit.kind == "def" or isinstance(unit.node, ast.Assign) and isinstance(unit.node.value, ast.Lambda):
        form = normal_form(unit.source)
        return [form] if form is not None else []
    forms: list[str] = []
    stack: list[ast.AST] = [unit.node]
    while stack:
        node = stack.pop()
        if node is not unit.node and (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                                      or isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)):
            segment = ast.get_source_segment(unit.source, node, padded=True)
            if segment is not None and (form := normal_form(segment)) is not None:
                forms.append(form)
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.ExceptHandler) or node is unit.node:
            stack.extend(ast.iter_child_nodes(node))
    return forms


def quoted_definitions(texts: list[str]) -> set[str]:
    """Normal forms of the definitions written in these texts (the prompt's own code)."""
    forms: set[str] = set()
    for text in texts:
        for unit in parse_block(text, -1).units:
            forms.update(binding_forms(unit))
    return forms
