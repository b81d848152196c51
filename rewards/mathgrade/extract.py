"""Find the one final answer in a free-form completion.

Explicit markers (`\\boxed{}`, `\\fbox{}`, `<answer>`, "final answer is", "Answer:", GSM8K's `####`) win, and among
them the last one in the text; without a marker the last bold span or math span counts, and a
bare number only as a last resort. Every scan is linear, so hostile text (thousands of `$`,
unbalanced braces, megabytes of filler) costs little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SCAN_CHARS = 100_000  # only the tail of a giant completion is searched
MAX_ANSWER_CHARS = 1_000


@dataclass(frozen=True)
class Extraction:
    """The answer text that counts, where it started, and the rule that found it."""

    answer: str
    method: str
    position: int


_BOX = re.compile(r"\\(?:boxed|fbox)\b\s*")
_MARKER = re.compile(
    r"(?i)(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|\banswer\s*:|####)\s*:?\s*"
)
_MATH_DELIM = re.compile(r"\\\$|\$\$|\$|\\\[|\\\]|\\\(|\\\)")
_CLOSERS = {"$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+|/\d+)?")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")


def brace_pairs(text: str) -> dict[int, int]:
    """Index of each `{` -> index of its matching `}`, in one pass (escaped braces are skipped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
        i += 1
    return pairs


def _boxes(text: str) -> list[Extraction]:
    found = []
    pairs: dict[int, int] | None = None
    for match in _BOX.finditer(text):
        after = match.end()
        if after < len(text) and text[after] == "{":
            pairs = brace_pairs(text) if pairs is None else pairs
            close = pairs.get(after)
            if close is not None:
                found.append(Extraction(text[after + 1 : close], "boxed", match.start()))
        else:  # `\boxed 5`
            token = re.match(r"[^\s$]{1,100}", text[after : after + 100])
            if token:
                found.append(Extraction(token.group(0), "boxed", match.start()))
    return found


def math_spans(text: str) -> list[tuple[int, str]]:
    """(start, content) of each `$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]` span, in one pass."""
    spans = []
    opener: str | None = None
    open_at = content_at = 0
    for match in _MATH_DELIM.finditer(text):
        delim = match.group(0)
        if delim == "\\$":
            continue
        if opener is None:
            if delim in _CLOSERS:
                opener, open_at, content_at = delim, match.start(), match.end()
        elif delim == _CLOSERS[opener]:
            spans.append((open_at, text[content_at : match.start()]))
            opener = None
    return spans


def strip_math(text: str) -> str:
    """Drop math delimiters, keeping their content."""
    return _MATH_DELIM.sub(lambda m: "$" if m.group(0) == "\\$" else "", text)


def _after_marker(text: str, start: int) -> str:
    """The answer following "final answer is": up to the end of the sentence or line."""
    rest = text[start : start + 4 * MAX_ANSWER_CHARS]
    spans = math_spans(rest)
    if spans and rest[: spans[0][0]].strip() == "":
        return spans[0][1]
    rest = strip_math(rest)
    end = _SENTENCE_END.search(rest)
    return rest[: end.start()] if end else rest


def _markers(text: str) -> list[Extraction]:
    """The last "final answer is ..." with something after it (only the last can win)."""
    for match in reversed(list(_MARKER.finditer(text))):
        answer = _after_marker(text, match.end()).strip()
        if answer:
            return [Extraction(answer, "marker", match.start())]
    return []


def _answer_tags(text: str) -> list[Extraction]:
    close = text.rfind("</answer>")
    if close < 0:
        return []
    start = text.rfind("<answer>", 0, close)
    if start < 0:
        return []
    return [Extraction(text[start + len("<answer>") : close], "answer_tag", start)]


def _looks_like_answer(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.endswith(":") and len(stripped) <= 100


def extract_answer(completion: str, bare_number: bool = True) -> Extraction | None:
    """The final answer of a completion, or None when it gives none."""
    text = completion[-MAX_SCAN_CHARS:].replace("\x00", "")
    explicit = _boxes(text) + _answer_tags(text) + _markers(text)
    if explicit:
        return _bounded(max(explicit, key=lambda e: e.position))
    if _BOX.search(text):
        return None  # a box was opened but never closed: a truncated answer is no answer
    implicit = [Extraction(c, "math", p) for p, c in math_spans(text) if c.strip()]
    implicit += [Extraction(m.group(1), "bold", m.start()) for m in _BOLD.finditer(text)
                 if _looks_like_answer(m.group(1))]
    if implicit:
        return _bounded(max(implicit, key=lambda e: e.position))
    if bare_number:
        last = None
        for last in _NUMBER.finditer(text):  # noqa: B007 - we want the last match
            pass
        if last is not None:
            return Extraction(last.group(0), "bare_number", last.start())
    return None


def _bounded(extraction: Extraction) -> Extraction:
    answer = extraction.answer.strip()
    if len(answer) > MAX_ANSWER_CHARS:
        answer = ""  # a giant "answer" is no answer
    return Extraction(answer, extraction.method, extraction.position)
