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


def split_body(prefix: str, text: str) -> Body | str | None:
    """The body of the prefix's open function in `text`, cut at the first top-level line after which
    prefix + body parses. None when `text` is not a body (or the prefix leaves no function open); a reason
    (str) when it is one but no cut makes it parse (a body cut off mid-statement)."""
    if not starts_indented(text):
        return None
    name = open_function(prefix)
    if name is None:
        return None
    joiner = "" if not prefix or prefix.endswith("\n") or text.startswith(("\n", "\r")) else "\n"
    lines = text.splitlines(keepends=True)
    cuts = [k for k, line in enumerate(lines) if line.strip() and line[:1] not in (" ", "\t")
            and not line.startswith(_CLOSERS) and not _comment_inside(lines, k)] + [len(lines)]
    body_line = prefix.count("\n") + 1 + (1 if joiner else 0) + next(i for i, x in enumerate(lines) if x.strip())
    for cut in cuts:
        body = joiner + "".join(lines[:cut])
        if not body.endswith("\n"):
            body += "\n"
        module = parse(prefix + body)
        if module is not None:
            fn = _open_function(module, body_line)
            if fn is None or fn.name != name:
                return None
            return Body(name, body, "".join(lines[cut:]), fn)
    return f"the body of {name} does not parse (cut off mid-statement?)"
