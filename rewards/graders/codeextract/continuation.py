"""A bare continuation of the prompt (a base model's output, or a chat answer that gives only a body): the
indented body of the function the prefix leaves open, cut at the usual stop sequences (the first line that
starts a new top-level statement: `def`, `class`, `if`, `print`, `#`, ...), so that the junk after it is
never run as part of the program.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from rewards.graders.codeextract.python import is_stub, parse

_CLOSERS = (")", "]", "}")


@dataclass(frozen=True)
class Body:
    """The body joined to the prefix's open function, and the text after the stop."""

    name: str
    text: str
    rest: str
    node: ast.FunctionDef | ast.AsyncFunctionDef  # the function as completed by the body


def starts_indented(text: str) -> bool:
    """Whether the first non-blank line is indented (a body, not a top-level statement)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first[:1] in (" ", "\t")


def _open_function(module: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost function whose definition starts before `line` and runs past it (the joined one)."""
    found = None
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno < line <= (node.end_lineno or 0):
            if found is None or node.lineno > found.lineno:
                found = node
    return found


def open_function(prefix: str) -> str | None:
    """The function the prefix leaves open for a body: its last statement is a def with only a docstring
    (HumanEval's prompts), or a def line with no body at all."""
    for head in (prefix, prefix + ("" if prefix.endswith("\n") else "\n") + "    pass\n"):
        module = parse(head)
        if module is None or not module.body:
            continue
        last = module.body[-1]
        while isinstance(last, ast.ClassDef) and last.body:
            last = last.body[-1]
        if isinstance(last, ast.FunctionDef | ast.AsyncFunctionDef) and is_stub(last):
            return last.name
        return None
    return None


def _comment_inside(lines: list[str], k: int) -> bool:
    """A column-0 comment with indented code after it is part of the body, not a stop."""
    if not lines[k].startswith("#"):
        return False
    following = next((x for x in lines[k + 1:] if x.strip() and not x.startswith("#")), "")
    return following[:1] in (" ", "\t")


MAX_PARSES = 40  # parses split_body may spend on one text: each one steps back past the line an error was on


def _parse_or_error_line(source: str) -> ast.Module | int | None:
    """The module, else the line a syntax error was reported on, else None (no line: null bytes, too deep)."""
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        return exc.lineno or None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        return None


def split_body(prefix: str, text: str) -> Body | str | None:
    """The body of the prefix's open function in `text`, cut at the first top-level line after which
    prefix + body parses. None when `text` is not a body (or the prefix leaves no function open); a reason
    (str) when it is one but no cut makes it parse (a body cut off mid-statement).

    Linear in the text: rather than trying every cut, the text is parsed up to a cut, and on a syntax error
    cut again before the error's line; once a cut parses, the first line in it that no statement runs over is the cut."""
    if not starts_indented(text):
        return None
    name = open_function(prefix)
    if name is None:
        return None
    joiner = "" if not prefix or prefix.endswith("\n") or text.startswith(("\n", "\r")) else "\n"
    lines = text.splitlines(keepends=True)
    cuts = [k for k, line in enumerate(lines) if line.strip() and line[:1] not in (" ", "\t")
            and not line.startswith(_CLOSERS) and not _comment_inside(lines, k)] + [len(lines)]
    first_line = prefix.count("\n") + 1 + (1 if joiner else 0)  # the line number of lines[0] once joined
    body_line = first_line + next(i for i, x in enumerate(lines) if x.strip())

    def joined(cut: int) -> str:
        body = joiner + "".join(lines[:cut])
        return body if body.endswith("\n") else body + "\n"

    end = len(lines)
    for _ in range(MAX_PARSES):
        found = _parse_or_error_line(prefix + joined(end))
        if isinstance(found, ast.Module):
            inside: set[int] = set()  # lines a top-level statement runs over past its first: no cut there
            for n in found.body:
                inside.update(range(n.lineno + 1 - first_line, (n.end_lineno or n.lineno) + 1 - first_line))
            cut = next(k for k in cuts if k == end or k not in inside)
            module = found if cut == end else parse(prefix + joined(cut))
            if module is None:
                break
            fn = _open_function(module, body_line)
            if fn is None or fn.name != name:
                return None
            return Body(name, joined(cut), "".join(lines[cut:]), fn)
        before = [k for k in cuts if k < end and (found is None or k <= found - first_line)]
        if found is None or not before:
            break
        end = before[-1]
    return f"the body of {name} does not parse (cut off mid-statement?)"
