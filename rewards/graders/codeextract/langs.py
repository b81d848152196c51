"""C++, JavaScript and bash programs in a completion, read with tree-sitter (nothing is run).

The same ideas as for Python, on each language's top-level declarations: for io tests the program is the
latest block with an entry (C++ `main`; JavaScript or bash reading stdin, else the latest block); for script
tests, the latest block that defines a function the test calls, without its own `main` (the test brings one)
or top-level calls. Functions, includes and requires it needs that sit in other blocks are added; a name
defined in several blocks is taken from one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Language, Node, Parser

from rewards.graders.codeextract.program import Choice

ERROR_SHARE = 0.5  # a block whose parse is more than this share of error nodes is not code of the language
# text outside fences counts as code only with one of these (prose often parses as a bash command or JS)
MARKERS = {
    "cpp": ("#include", "main(", "};", ");"),
    "javascript": ("function", "=>", "const ", "let ", "var ", "console.", "require(", "process."),
    "bash": ("echo ", "read ", "$", "printf ", "for ", "while ", "if [", "awk ", "sed ", "cat ", "|", "=("),
}


# the tree-sitter grammar package of each language read here (imported on first use)
_GRAMMARS = {"cpp": "tree_sitter_cpp", "javascript": "tree_sitter_javascript", "bash": "tree_sitter_bash"}


@cache
def _parser(language: str) -> Parser | None:
    if language not in _GRAMMARS:
        return None
    return Parser(Language(importlib.import_module(_GRAMMARS[language]).language()))


def supported(language: str) -> bool:
    return language in _GRAMMARS


@dataclass
class Decl:
    """A top-level declaration: its text, the function/class names it defines, and the names it calls."""

    block: int
    pos: int
    text: str
    kind: str  # function, include, require, main, call, other
    defines: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _declared_name(node: Node | None) -> str | None:
    """The identifier a declarator chain ends in (C++: `int *f(int x)` -> f; `Solution::f` -> f)."""
    while node is not None:
        if node.type in ("identifier", "field_identifier", "type_identifier", "word", "property_identifier"):
            return _text(node)
        if node.type in ("qualified_identifier",):
            node = node.child_by_field_name("name")
            continue
        nxt = node.child_by_field_name("declarator") or node.child_by_field_name("name")
        if nxt is None:
            return None
        node = nxt
    return None


def _calls(node: Node) -> set[str]:
    """Names used under `node` that a definition elsewhere may supply: called identifiers (`f(x)`, and `m` of
    `obj.m(x)`), bash command names, classes constructed or named as types (`Solution s;`, `new Solution()`)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("call_expression", "command"):
            fn = current.child_by_field_name("function") or current.child_by_field_name("name")
            if fn is not None:
                found.add(_text(fn).split("<")[0].strip())
                member = fn.child_by_field_name("field") or fn.child_by_field_name("property")
                if member is not None:
                    found.add(_text(member))
        elif current.type == "new_expression":
            constructor = current.child_by_field_name("constructor")
            if constructor is not None:
                found.add(_text(constructor))
        elif current.type == "type_identifier":
            found.add(_text(current))
        stack.extend(current.children)
    return found


def _errors(root: Node) -> float:
    total = errors = 0
    stack = [root]
    while stack:
        node = stack.pop()
        total += 1
        errors += node.type == "ERROR" or node.is_missing
        stack.extend(node.children)
    return errors / max(total, 1)


def _decls(language: str, text: str, block: int) -> list[Decl] | None:
    parser = _parser(language)
    if parser is None:
        return None
    root = parser.parse(text.encode("utf-8", "replace")).root_node
    if _errors(root) > ERROR_SHARE or not root.children:
        return None
    out: list[Decl] = []
    for pos, node in enumerate(root.children):
        source = _text(node)
        decl = Decl(block, pos, source, "other", calls=_calls(node))
        kind = node.type
        if kind in ("function_definition", "function_declaration", "generator_function_declaration",
                    "class_declaration", "class_specifier", "struct_specifier", "template_declaration"):
            target: Node | None = node if kind != "template_declaration" else next(
                (c for c in node.children if c.type in ("function_definition", "class_specifier",
                                                        "struct_specifier")), None)
            name = None if target is None else _declared_name(
                target.child_by_field_name("declarator") or target.child_by_field_name("name") or target)
            decl.kind = "main" if name == "main" else "function"
            decl.defines = {name} if name else set()
        elif kind in ("lexical_declaration", "variable_declaration"):
            names = {_declared_name(c) for c in node.children if c.type == "variable_declarator"}
            decl.defines = {n for n in names if n}
            decl.kind = "require" if "require(" in source and not any(
                c.type == "variable_declarator" and (c.child_by_field_name("value") or node).type in (
                    "arrow_function", "function_expression", "function") for c in node.children) else "function"
        elif kind in ("preproc_include", "using_declaration", "import_statement"):
            decl.kind = "include"
        elif kind in ("alias_declaration", "type_definition", "namespace_definition"):
            # taken from another block only when the program names it (a rejected attempt's namespace with a
            # static constructor must not run before the chosen main)
            name = _declared_name(node.child_by_field_name("declarator") or node.child_by_field_name("name")
                                  or node)
            decl.defines = {name} if name else set()
        elif kind == "expression_statement" and any(c.type == "call_expression" for c in node.children) or \
                kind in ("command", "pipeline", "list"):
            decl.kind = "call"
        elif kind == "comment":
            continue
        out.append(decl)
    return out


def reads_stdin(language: str, text: str) -> bool:
    markers = {
        "javascript": ("process.stdin", "readFileSync(0", "readFileSync('/dev/stdin'", 'readFileSync("/dev/stdin"',
                       "readline"),
        "bash": ("read ", "cat", "$(<", "/dev/stdin", "awk", "sed", "while read"),
        "cpp": ("cin", "scanf", "getline", "getchar", "fread", "stdin"),
    }[language]
    return any(m in text for m in markers)


def test_names(language: str, code: str) -> tuple[set[str], set[str]]:
    """(names a script test calls that it does not define itself, names it defines: `main` for C++)."""
    decls = _decls(language, code, -1) or []
    defined: set[str] = set().union(*(d.defines for d in decls))
    return set().union(*(d.calls for d in decls)) - defined, defined


def _normal(text: str) -> str:
    return " ".join(text.split())


def quoted_functions(language: str, texts: list[str]) -> frozenset[str]:
    """The functions written in these texts (the prompt's own code), whitespace-normalized."""
    return frozenset(_normal(d.text) for text in texts for d in (_decls(language, text, -1) or [])
                     if d.kind in ("function", "main"))


def choose(language: str, sources: list[tuple[int, str]], names: set[str] | None,
           test_defines: frozenset[str] = frozenset({"main"}), quoted: frozenset[str] = frozenset()) -> Choice:
    """The program in these blocks: by the names a script test calls (`names`), or for io tests (None). The
    program's own `main` and top-level calls are left out where the tests define `main` themselves; a
    function quoted from the prompt is never taken, nor a block whose entry it is."""
    parsed = {index: decls for index, text in sources if (index >= 0 or any(m in text for m in MARKERS[language]))
              and (decls := _decls(language, text, index))}
    dropped: list[dict[str, object]] = []
    trimmed: set[int] = set()  # blocks that lost quoted declarations: emitted declaration by declaration
    for index in list(parsed):
        kept = [d for d in parsed[index] if _normal(d.text) not in quoted]
        if len(kept) < len(parsed[index]):
            trimmed.add(index)
            dropped.append({"block": index, "what": "", "why": f"{len(parsed[index]) - len(kept)} declarations "
                                                              "quoted from the prompt"})
        if kept:
            parsed[index] = kept
        else:
            del parsed[index]
    if not parsed:
        return Choice(None, dropped=dropped, reason=f"no {language} code of the model's in the completion")
    texts = dict(sources)
    noted = {d["block"] for d in dropped}
    dropped += [{"block": i, "what": t.strip().splitlines()[0][:100] if t.strip() else "", "why": f"not {language} code"}
                for i, t in sources if i not in parsed and i not in noted]
    defs: dict[str, Decl] = {}
    blocks_of: dict[str, set[int]] = {}
    for index in sorted(parsed):
        for decl in parsed[index]:
            for name in decl.defines:
                defs[name] = decl  # the latest definition of each name
                blocks_of.setdefault(name, set()).add(index)
    extra: list[Decl] = []
    if names is None:
        entry = [i for i in parsed if any(d.kind == "main" for d in parsed[i])] if language == "cpp" else \
            [i for i in parsed if reads_stdin(language, texts[i])] or list(parsed)
        if not entry:
            return Choice(None, reason="no block has a main function")
        block = entry[-1]
        keep = list(parsed[block])
        used = {block: ["the program" + (" (defines main)" if language == "cpp" else "")]}
    else:
        wanted = sorted(n for n in names if n in defs)
        if not wanted:
            return Choice(None, reason=f"the completion defines none of the functions the tests call "
                                           f"({', '.join(sorted(names)) or '?'})")
        # each name's latest definition; the block assembled around is the latest one holding a correction (a
        # name defined again), and older versions in it of names corrected later are replaced by those
        redefined = [n for n in wanted if len(blocks_of[n]) > 1]
        block = max(defs[n].block for n in (redefined or wanted))
        left_out = ("call", "main") if "main" in test_defines or language != "cpp" else ("call",)
        elsewhere = {n for n in wanted if defs[n].block != block}
        keep = [d for d in parsed[block] if d.kind not in left_out and not d.defines & elsewhere]
        used = {block: [f"defines {', '.join(n for n in wanted if defs[n].block == block)} (the tests call it)"]}
        dropped += [{"block": block, "what": d.text.strip().splitlines()[0][:100],
                     "why": "main or top-level call (the test brings its own)"}
                    for d in parsed[block] if d.kind in left_out]
        dropped += [{"block": block, "what": d.text.strip().splitlines()[0][:100],
                     "why": "superseded by a later definition"} for d in parsed[block] if d.defines & elsewhere]
        for name in sorted(elsewhere):
            if defs[name] not in extra:
                extra.append(defs[name])
                used.setdefault(defs[name].block, []).append(f"defines {name} (the tests call it; its latest version)")
    have = set().union(*(d.defines for d in keep + extra))
    queue = keep + extra
    while queue:
        decl = queue.pop()
        for name in sorted(decl.calls - have):
            dep = defs.get(name)
            if dep is not None and dep.block != block:
                have |= dep.defines
                extra.append(dep)
                queue.append(dep)
                used.setdefault(dep.block, []).append(f"defines {name}")
    lines = {d.text.strip() for d in keep}
    includes = [d for i in sorted(parsed) if i != block for d in parsed[i]
                if d.kind in ("include", "require") and d.text.strip() not in lines]
    for d in includes:
        used.setdefault(d.block, []).append(f"needed include: {d.text.strip()[:60]}")
    program = [d.text for d in includes] + [d.text for d in sorted(extra, key=lambda d: (d.block, d.pos))]
    program += [texts[block]] if names is None and block not in trimmed else [d.text for d in keep]
    return Choice("\n".join(program) + "\n", used, dropped)
