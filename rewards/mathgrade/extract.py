"""Find the one final answer in a free-form completion.

Explicit markers (`\\boxed{}`, `\\fbox{}`, `<answer>`, "final answer is", "the answer might be", "Answer:", GSM8K's
`####`) win, and among them the last one in the text; without a marker the last bold span or math span
counts, and a bare number only as a last resort. A box is one answer: boxes, tags and markers inside it
are part of it. A box right after "not" is no answer, and an "answer is" followed by prose ("the answer is
consistent with ...") is no answer either. Every scan is linear, so hostile text (thousands of `$`,
unbalanced braces, megabytes of filler) costs little.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

MAX_SCAN_CHARS = 100_000  # only the tail of a giant completion is searched
MAX_ANSWER_CHARS = 1_000
MAX_MARKERS = 16  # only the last few "answer is" markers are read to their sentence end


@dataclass(frozen=True)
class Extraction:
    """The answer text that counts, where it started, and the rule that found it."""

    answer: str
    method: str
    position: int


_BOX = re.compile(r"\\(?:boxed|fbox)\b\s*")
_MARKER = re.compile(
    r"(?i)(?:\banswer\s*(?:\*\*)?\s*:|final\s+answer\s+is|\b(?:the|my|our)\s+(?:final\s+)?answer\s+"
    r"(?:is|was|(?:might|may|could|would|will)\s+be)\b|####)\s*(?:\*\*)?\s*:?\s*"
)
_NEGATION = re.compile(r"(?i)(?:\bnot|n't|\bnever|\brather\s+than|\binstead\s+of)\s*[$(\\\[]*\s*$")
_PROSE = re.compile(r"[a-z]{3,}(?:[\s,]+[A-Za-z']+){2,}[\s,.;:!?]*")  # no digits, no math: words
_TRAILING_MATH = re.compile(r"\d|\$|\\\(|\\\[")
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


@dataclass
class _Boxes:
    """The outermost boxes of a text: their answers (negated ones left out), spans, and the last unclosed one."""

    found: list[Extraction]
    starts: list[int]
    ends: list[int]
    unclosed_at: int = -1

    def covers(self, position: int) -> bool:
        at = bisect.bisect_right(self.starts, position) - 1
        return at >= 0 and position <= self.ends[at]


def _boxes(text: str) -> _Boxes:
    boxes = _Boxes([], [], [])
    pairs: dict[int, int] | None = None
    for match in _BOX.finditer(text):
        if boxes.ends and match.start() <= boxes.ends[-1]:
            continue  # a box inside a box is part of the outer answer
        after = match.end()
        if after < len(text) and text[after] == "{":
            pairs = brace_pairs(text) if pairs is None else pairs
            close = pairs.get(after)
            if close is None:
                boxes.unclosed_at = match.start()
                continue
            answer, end = text[after + 1 : close], close
        else:  # `\boxed 5`
            token = re.match(r"[^\s$]{1,100}", text[after : after + 100])
            if token is None:
                continue
            answer, end = token.group(0), after + token.end() - 1
        boxes.starts.append(match.start())
        boxes.ends.append(end)
        if not _NEGATION.search(text, max(0, match.start() - 24), match.start()):  # "not \boxed{4}"
            boxes.found.append(Extraction(_unboxed(answer), "boxed", match.start()))
    return boxes


def _unboxed(answer: str) -> str:
    """`\\boxed{3}` inside a box is just 3."""
    for _ in range(8):
        stripped = answer.strip()
        match = _BOX.match(stripped)
        if match is None or stripped[match.end() : match.end() + 1] != "{":
            return answer
        if brace_pairs(stripped).get(match.end()) != len(stripped) - 1:
            return answer
        answer = stripped[match.end() + 1 : -1]
    return answer


def math_spans(text: str) -> list[tuple[int, str]]:
    """(start, content) of each `$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]` span, in one pass."""
    return [(start, content) for start, _, content in _spans(text)]


def _spans(text: str) -> list[tuple[int, int, str]]:
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
            spans.append((open_at, match.end(), text[content_at : match.start()]))
            opener = None
    return spans


def strip_math(text: str) -> str:
    """Drop math delimiters, keeping their content."""
    return _MATH_DELIM.sub(lambda m: "$" if m.group(0) == "\\$" else "", text)


def _sentence(text: str) -> str:
    end = _SENTENCE_END.search(text)
    return text[: end.start()] if end else text


def _after_marker(text: str, start: int) -> str:
    """The answer following "final answer is": a math span alone, else the rest of the sentence or line."""
    rest = text[start : start + 4 * MAX_ANSWER_CHARS]
    spans = _spans(rest)
    if spans and rest[: spans[0][0]].strip() == "":
        span_start, span_end, content = spans[0]
        if not _TRAILING_MATH.search(_sentence(rest[span_end:])):  # not "$3$ or $4$"
            return content
    return _sentence(strip_math(rest).lstrip())


def _markers(text: str, boxes: _Boxes) -> list[Extraction]:
    """The last "final answer is ..." outside a box with an answer after it (only the last can win)."""
    for match in reversed(list(_MARKER.finditer(text))[-MAX_MARKERS:]):
        if boxes.covers(match.start()):
            continue
        answer = _after_marker(text, match.end()).strip()
        if answer and not _PROSE.fullmatch(answer):
            return [Extraction(answer, "marker", match.start())]
    return []


def _answer_tags(text: str, boxes: _Boxes) -> list[Extraction]:
    close = text.rfind("</answer>")
    if close < 0:
        return []
    start = text.rfind("<answer>", 0, close)
    if start < 0 or boxes.covers(start):
        return []
    return [Extraction(text[start + len("<answer>") : close], "answer_tag", start)]


def _looks_like_answer(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.endswith(":") and len(stripped) <= 100


def extract_answer(completion: str, bare_number: bool = True) -> Extraction | None:
    """The final answer of a completion, or None when it gives none."""
    text = completion[-MAX_SCAN_CHARS:].replace("\x00", "")
    boxes = _boxes(text)
    explicit = boxes.found + _answer_tags(text, boxes) + _markers(text, boxes)
    last = max(explicit, key=lambda e: e.position) if explicit else None
    if boxes.unclosed_at >= 0 and (last is None or boxes.unclosed_at > last.position):
        return None  # the last box was opened but never closed: a truncated answer is no answer
    if last is not None:
        return _bounded(last)
    if boxes.starts:
        return None  # every box was negated
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
