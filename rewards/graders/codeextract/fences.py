"""Code blocks in a completion: markdown fences as models really write them.

Handles fences that never close (a cut-off or forgotten closing fence: the block runs to the end of the
text), indented fences (inside list items; the indentation is removed from the body), tags with odd
spellings (`py`, `Python3`, `{.python}`, `python title="x.py"`), stray closing fences, longer fences
(```` ```` ````) and the `[PYTHON]...[/PYTHON]` tags some models use.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

ALIASES: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3", "py3", "python2", "ipython", "pycon", "sage"}),
    "cpp": frozenset({"cpp", "c++", "cc", "cxx", "c", "hpp", "h"}),
    "javascript": frozenset({"javascript", "js", "node", "nodejs", "jsx", "mjs", "ecmascript"}),
    "bash": frozenset({"bash", "sh", "shell", "zsh", "shellscript"}),
}
# tags that say the block is not code of any language we run: output, data, prose
NOT_CODE = frozenset({
    "text", "txt", "plaintext", "plain", "output", "console", "stdout", "stdin", "input", "json", "yaml", "yml",
    "markdown", "md", "csv", "xml", "html", "diff", "log", "terminal", "none", "math", "latex", "tex", "toml",
    "ini", "sql", "java", "go", "rust", "ruby", "c#", "csharp", "kotlin", "swift", "php", "typescript", "ts",
    "powershell", "bat", "cmd", "r", "scala", "haskell", "perl", "lua", "dart",
    # tags that say the block is not the answer
    "pseudocode", "pseudo", "algorithm", "buggy", "wrong", "incorrect", "bad", "broken",
})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_BRACKET_OPEN = re.compile(r"^[ \t]*\[(?P<tag>[A-Za-z][\w+#]*)\][ \t]*$")
_BRACKET_CLOSE = re.compile(r"^[ \t]*\[/(?P<tag>[A-Za-z][\w+#]*)\][ \t]*$")
_TAG = re.compile(r"[A-Za-z0-9_+#-]+")


@dataclass(frozen=True)
class Block:
    """One code block: its body (fence indentation removed), normalized tag, and where it sits in the text."""

    index: int
    tag: str
    body: str
    start: int  # offset of the opening fence line in the completion
    end: int  # offset just past the closing fence line (the text's end when unclosed)
    closed: bool

    def is_language(self, language: str) -> bool:
        return self.tag in ALIASES.get(language, frozenset({language}))

    def is_other_language(self, language: str) -> bool:
        """Tagged with something that is not this language (another language, output, data)."""
        return bool(self.tag) and not self.is_language(language) and (
            self.tag in NOT_CODE or any(self.tag in names for names in ALIASES.values()))


def normalize_tag(info: str) -> str:
    """`Python3 title="a.py"` -> python3; `{.py}` -> py; `` -> ``."""
    match = _TAG.match(info.strip().lstrip("{.").strip())
    return match.group(0).lower() if match else ""


def _dedent_by(line: str, indent: str) -> str:
    width = len(indent)
    stripped = len(line) - len(line.lstrip(" \t"))
    return line[min(width, stripped):]


def _closes_fence(candidate: str, char: str, width: int) -> bool:
    """Whether `candidate` closes a fence of `width` `char`s: the same character, at least as long, no info."""
    m = _FENCE.match(candidate)
    return m is not None and m["fence"][0] == char and len(m["fence"]) >= width and not m["info"].strip()


def _closes_bracket(candidate: str, tag: str) -> bool:
    """Whether `candidate` is the `[/TAG]` line closing a `[TAG]` block."""
    m = _BRACKET_CLOSE.match(candidate)
    return m is not None and m["tag"].lower() == tag


def find_blocks(text: str) -> list[Block]:
    """Every fenced block, in order. A fence left open runs to the end of the text."""
    lines = text.splitlines(keepends=True)
    blocks: list[Block] = []
    offset = 0
    i = 0
    starts = []
    for line in lines:
        starts.append(offset)
        offset += len(line)
    starts.append(offset)
    while i < len(lines):
        line = lines[i].rstrip("\r\n")
        fence = _FENCE.match(line)
        bracket = _BRACKET_OPEN.match(line)
        if bracket is not None and not any(bracket["tag"].lower() in names for names in ALIASES.values()):
            bracket = None
        closes: Callable[[str], bool]
        if fence is not None:
            indent, tag = fence["indent"], normalize_tag(fence["info"])
            closes = partial(_closes_fence, char=fence["fence"][0], width=len(fence["fence"]))
        elif bracket is not None:
            indent, tag = "", bracket["tag"].lower()
            closes = partial(_closes_bracket, tag=tag)
        else:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not closes(lines[j].rstrip("\r\n")):
            j += 1
        closed = j < len(lines)
        body = "".join(_dedent_by(x, indent) for x in lines[i + 1:j])
        blocks.append(Block(len(blocks), tag, body, starts[i], starts[j + 1] if closed else len(text), closed))
        i = j + 1
    return blocks


def outside_blocks(text: str, blocks: list[Block]) -> str:
    """The text with every block blanked out (offsets and lines kept), for looking at the prose only."""
    out, last = [], 0
    for block in blocks:
        out.append(text[last:block.start])
        out.append(re.sub(r"[^\n]", " ", text[block.start:block.end]))
        last = block.end
    out.append(text[last:])
    return "".join(out)


_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# the sentence before a block that says the block is not the answer ("a WRONG version you should NOT use:")
_WRONG_LABEL = re.compile(
    r"\b(?:wrong|incorrect|buggy|broken|flawed)\s+(?:\w+\s+)?(?:version|code|solution|approach|"
    r"implementation|example|attempt|program|answer)\b(?!\s+(?:above|before|earlier))|\b(?:do\s+not|don'?t|"
    r"should\s+not|shouldn'?t|never)\s+use\b|\bfor\s+contrast\b|\bcounter-?example\b", re.IGNORECASE)
# ... unless the sentence is about an earlier block or presents this one as the fix
_CORRECTION = re.compile(r"\b(?:correct(?:ed)?|fix(?:ed)?|right|proper|final|previous|above|earlier|was|were)\b",
                         re.IGNORECASE)


def blank_html_comments(text: str) -> str:
    """The text with HTML comments blanked (lines kept): what a rendered answer does not show."""
    return _HTML_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def hidden_or_disowned(text: str, blocks: list[Block]) -> dict[int, str]:
    """Blocks the completion does not present as its answer, by index, with why: inside an HTML comment, or
    right after a sentence labelling them wrong ("for contrast, a buggy version:")."""
    prose = outside_blocks(text, blocks)
    comments = [(m.start(), m.end()) for m in _HTML_COMMENT.finditer(prose)]
    out: dict[int, str] = {}
    previous_end = 0
    for block in blocks:
        lead = prose[previous_end:block.start].rstrip()
        previous_end = block.end
        sentence = re.split(r"(?<=[.!?])\s+|\n\s*\n", lead)[-1] if lead else ""
        if any(start <= block.start < end for start, end in comments):
            out[block.index] = "inside an HTML comment"
        elif _WRONG_LABEL.search(sentence) and not _CORRECTION.search(sentence):
            out[block.index] = f"labelled as not the answer: {sentence.strip()[-80:]!r}"
    return out


def _is_prose(line: str) -> bool:
    """A column-0 line that is not Python: neither a statement nor a compound statement's header."""
    for text in (line, line + "\n    pass\n"):
        try:
            ast.parse(text)
            return False
        except (SyntaxError, ValueError):
            continue
    return True


def indented_blocks(text: str) -> list[str]:
    """Markdown's indented code blocks: runs of lines indented by 4+ spaces (or a tab) after a blank line
    that follows prose, dedented. Code that follows a `def ...:` line is that def's body, not one of these."""
    lines = text.splitlines(keepends=True)
    found: list[str] = []
    previous: str | None = None  # the last non-blank line before line i
    i = 0
    while i < len(lines):
        if lines[i].startswith(("    ", "\t")) and lines[i].strip() and i > 0 and not lines[i - 1].strip() and (
                previous is not None and previous[:1] not in (" ", "\t") and _is_prose(previous.strip())):
            j = i
            while j < len(lines) and (lines[j].startswith(("    ", "\t")) or not lines[j].strip()):
                j += 1
            found.append(textwrap.dedent("".join(lines[i:j])))
            previous = next((x for x in reversed(lines[i:j]) if x.strip()), previous)
            i = j
        else:
            previous = lines[i] if lines[i].strip() else previous
            i += 1
    return found


_LEGACY_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)
_LEGACY_ALIASES = {
    "python": {"python", "py", "python3"}, "cpp": {"cpp", "c++", "cc", "cxx"},
    "javascript": {"javascript", "js", "node"}, "bash": {"bash", "sh", "shell"},
}


def last_fence(completion: str, language: str) -> str:
    """The `last_fence` rule: the last closed block tagged with the language, else the last untagged one, else
    the whole text."""
    blocks: list[tuple[str, str]] = _LEGACY_FENCE.findall(completion)
    names = _LEGACY_ALIASES.get(language, {language})
    for wanted in (lambda tag: tag.lower() in names, lambda tag: tag == ""):
        tagged = [body for tag, body in blocks if wanted(tag)]
        if tagged:
            return tagged[-1]
    return completion
