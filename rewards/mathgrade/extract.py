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
from dataclasses import dataclass, field

MAX_SCAN_CHARS = 100_000  # only the tail of a giant completion is searched
MAX_ANSWER_CHARS = 1_000
MAX_MARKERS = 16  # only the last few "answer is" markers are read to their sentence end


@dataclass(frozen=True)
class Extraction:
    """The answer text that counts, where it started, and the rule that found it."""

    answer: str
    method: str
    position: int
    parts: tuple[str, ...] = ()  # several boxes that together state the answer, in order
    either: bool = False  # the boxes were joined by "or": alternatives, never an ordered tuple


_BOX = re.compile(r"\\(?:boxed|fbox)\b\s*")
_MARKER = re.compile(
    r"(?i)(?:\banswer[\"']?\s*(?:\*\*)?\s*:|final\s+answer\s+is|\b(?:the|my|our)\s+(?:final\s+|correct\s+|right\s+|best\s+|closest\s+)?"
    r"(?:answer|option|choice)(?:\s*\([^()\n]{1,30}\))?\s+(?:is|was|(?:might|may|could|would|will|should)\s+be)\b"
    r"|(?<!#)####(?!#))\s*(?:\*\*)?\s*:?\s*"
)
_LAST_LINE_A = re.compile(r"(?:^|\n)[ \t*]*A\s*:[ \t]*(\S[^\n]{0,48})\s*$")  # GSM8K few-shot: a last line `A: 18`
# special tokens that decoding kept (OpenRLHF keeps them): `<|im_end|>`, `</s>`, `<｜end▁of▁sentence｜>`...
_SPECIAL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_]{1,40}\|>|<｜[^｜<>\n]{1,40}｜>|</?s>|<(?:eos|pad|end_of_turn|start_of_turn)>|\[/?INST\]"
)
# what may stand between boxes that together state one answer: `\boxed{2} and \boxed{3}`, `\approx`
_BOX_JOINER = re.compile(  # also the names of what the next box gives: `r = \boxed{3}, \theta = \boxed{..}`
    r"(?i)(?:[\s,;:$]|\\[()\[\]]|\b(?:and|or|numerically|approximately|about|i\.e\.)\b|\\q?quad\b|\\approx\b|≈"
    r"|\\text\{\s*(?:and|or|numerically|approximately)?\s*\}"
    r"|(?:\b[a-z](?:_\{?\w{1,3}\}?)?|\\(?:alpha|beta|gamma|theta|phi|lambda|mu|omega|rho|sigma|tau))\s*=)*"
)
_EITHER = re.compile(r"(?i)\bor\b")
_NEGATION = re.compile(  # a box right after a negation, a strike-out or a first thought is no answer;
    # "the sticks not used is \boxed{16}": a verb after the negation starts the sentence's own claim
    r"(?i)(?:(?:\bnot|n't|\bnever)(?![^.;!?\n]*(?:\b(?:is|are|was|were|equals|totals)\b|=))"
    r"|\brather\s+than|\binstead\s+of|\\cancel\s*\{|\\sout\s*\{|~~|\bthought|\binitially)"
    r"[^.;!?\n]{0,12}$"
)
_PROSE = re.compile(r"[^\W\d_]{2,}(?:[\s,]+[^\W\d_'’]+){2,}[\s,.;:!?]*")  # no digits, no math: words, any script
_PLACEHOLDER = re.compile(r"(?i)[\s<>.]*(?:(?:insert\s+)?(?:the\s+|your\s+)?(?:final\s+)?answer(?:\s+here)?)?[\s<>.]*")
_CLOSE_TAG = re.compile(r"</\s*answer|<\s*end_?answer\s*>", re.IGNORECASE)
_QUOTED = re.compile(r"""[`"']{1,2}((?:[^"'`\\]|\\.)*)[`"']{1,2}\s*[}\]`,.]*\s*$""")  # `"answer": "369"}`
_REASON = re.compile(  # where a marker's value ends and its reason starts
    r"(?i),?\s+\b(?:because|since|as\s+(?:the|there|it|we|this)|which|meaning|where|given\s+that|due\s+to)\b|,\s+(?:so|and\s+so|i\.e\.)\s"
)
_VERDICT = re.compile(  # what a check says of the answer, not an answer
    r"(?i)(?:highly\s+|very\s+|definitely\s+|indeed\s+|now\s+)?(?:correct|verified|valid|confirmed|consistent|accurate"
    r"|reasonable|wrong|incorrect|confident|plausible)\b"
)
# bounded runs only: a completion of 50k `$` or spaces must not make these quadratic
_PERCENT_VALUE = r"[$\\(\[]{0,3}\s{0,3}(?:\\boxed\s{0,3}\{\s{0,3})?\d{1,3}(?:\.\d+)?"  # `\(\boxed{100`, `$90`
_PERCENT_AFTER = r"\s{0,3}\}?\s{0,3}[$\\)\]]{0,3}\s{0,3}(?:\\?%|percent\b|/\s{0,3}10{1,2}\b)"  # `\%}$`, `} \)%`, `/10`
_CONFIDENCE = re.compile(  # a stated confidence: `Confidence Level: 100%`, `my confidence in the answer is \(100\%\)`,
    # `confidence level in percentage ... is \(\boxed{100}\)`, `I am $\boxed{100\%}$ confident`; never a number
    # without a percent (`I am confident the answer is \boxed{3}`), nor a confidence interval
    r"(?i)(?:\bconfiden(?:ce|t)\b(?!\s+intervals?)[^.\n]{0,80}?(?:\bis\b|:|\bof\b|\bat\b|\babout\b)\s{0,3}"
    + _PERCENT_VALUE + "(?:" + _PERCENT_AFTER + r")"
    + r"|\bconfidence\b[^.\n]{0,40}?\bpercentage\b[^.\n]{0,60}?(?:\bis\b|:)\s{0,3}" + _PERCENT_VALUE + r"(?:"
    + _PERCENT_AFTER + r")?"
    + r"|(?<![$\\(\[])" + _PERCENT_VALUE + _PERCENT_AFTER + r"\s{0,3}\}?\s{0,3}[$\\)\]]{0,3}\s{0,3}(?:confident|sure|certain)\b)"
    + r"\s{0,3}\}?\s{0,3}[$\\)\]]{0,3}\s{0,3}%?"
)
_CONFIDENCE_WORD = re.compile(r"(?i)confiden|\bsure\b|\bcertain\b")
_ANSWER_HEADING = re.compile(r"(?:^|\n)#{1,3}\s*(?:Final\s+)?Answer\s*:?\s*\n+\s*(\S[^\n]{0,200})\s*$", re.IGNORECASE)
_ANSWER_ENV = re.compile(r"\\(?:begin|end)\s*\{\s*answer\s*\}")  # `<answer> 120 \end{answer} </answer>`
_FINISHED = re.compile(r"[.!?$}\]]\s*[\"']?\s*$")
_NEXT_TURN = re.compile(r"\n\s*(?:User|Human|Assistant|Question|Q)\s*:")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>\n]{0,60}>")  # `<span class="answer">71</span>`
_TAG = re.compile(r"</?\s*answer\s*>", re.IGNORECASE)
_OTHER_CLOSE = re.compile(r"</[a-zA-Z][^<>\n]{0,40}>")  # another element's closing tag: `</end think>`, `</think>`
_LATEX_SPACE = re.compile(r"(?<!\\)\\ ")  # `The\ answer\ is\ (B)` inside math
_TRAILING_MATH = re.compile(r"\d|\$|\\\(|\\\[")
_MATH_DELIM = re.compile(r"\\\$|\$\$|\$|\\\[|\\\]|\\\(|\\\)")
_CLOSERS = {"$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*|\\textbf\{([^{}\n]{1,200})\}")
_NUMBER = re.compile(  # not the `2` in `AZYUK2A`; `.4`; a decimal comma `2,74`
    r"(?<![A-Za-z0-9_.])-?(?:\d+(?:,\d{3})*(?:\.\d+)?(?:,\d{1,2}(?![\d,]))?|\.\d+)(?:[eE][-+]?\d+|/\d+)?"
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_WHOLE = re.compile(r"[^\n]{1,80}")  # a completion that is nothing but a short answer
_PROSE_WORD = re.compile(r"(?<!\\)\b[A-Za-z]{3,}\b")
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
    found_ends: list[int] = field(default_factory=list)

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
        if not _NEGATION.search(text, max(0, match.start() - 40), match.start()):  # "not \boxed{4}"
            boxes.found.append(Extraction(_unboxed(answer), "boxed", match.start()))
            boxes.found_ends.append(end)
    kept = [i for i, box in enumerate(boxes.found) if box.answer.strip() or i == len(boxes.found) - 1]
    boxes.found = [boxes.found[i] for i in kept]  # "put it in the \boxed{}: \boxed{5}": an empty box before is a mention
    boxes.found_ends = [boxes.found_ends[i] for i in kept]
    return boxes


_APPROX_WORD = re.compile(r"(?i)\\approx|≈|numerically|approximately|about")


def _approximate(joiner: str, answer: str) -> str:
    """A box that a joiner calls an approximation (`, numerically \boxed{1.414}`) is marked `\approx`."""
    if _APPROX_WORD.search(joiner) and not _APPROX_WORD.match(answer.strip()):
        return "\\approx " + answer
    return answer


def _box_group(text: str, boxes: _Boxes) -> Extraction:
    """The last box with the boxes right before it that only joiners separate (`\\boxed{2} and \\boxed{3}`)."""
    first = len(boxes.found) - 1
    while first > 0:
        between = text[boxes.found_ends[first - 1] + 1 : boxes.found[first].position]
        if len(between) > 40 or not _BOX_JOINER.fullmatch(between):
            break
        first -= 1
    if first == len(boxes.found) - 1:
        return boxes.found[-1]
    parts, either = [boxes.found[first].answer], False
    for at in range(first + 1, len(boxes.found)):
        joiner = text[boxes.found_ends[at - 1] + 1 : boxes.found[at].position]
        parts.append(_approximate(joiner, boxes.found[at].answer))
        either = either or bool(_EITHER.search(joiner))
    return Extraction(", ".join(parts), "boxed", boxes.found[-1].position, tuple(parts), either)


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


def _inside(spans: list[tuple[int, int, str]], position: int) -> bool:
    """Whether `position` falls inside one of the math spans (`$\\frac13 \\textbf{m}$` is one answer)."""
    at = bisect.bisect_left(spans, (position,)) - 1  # spans are in order and never overlap
    return at >= 0 and spans[at][0] < position < spans[at][1]


def math_spans(text: str) -> list[tuple[int, str]]:
    """(start, content) of each `$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]` span, in one pass."""
    return [(start, content) for start, _, content in span_bounds(text)]


def span_bounds(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of each `$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]` span, in one pass."""
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
    rest = _TAG.split(text[start : start + 4 * MAX_ANSWER_CHARS], maxsplit=1)[0]  # `Answer: 4</answer>`
    spans = span_bounds(rest)
    if spans and rest[: spans[0][0]].strip() == "":
        span_start, span_end, content = spans[0]
        if not _TRAILING_MATH.search(_sentence(rest[span_end:])):  # not "$3$ or $4$"
            return content
    return _sentence(strip_math(rest).lstrip())


def _marker_answer(text: str) -> str:
    """A marker's answer without what surrounds the value: `**42**`, a JSON string (`"369"}`), a reason
    (`11 because there are 11 values (0 to 10)`, `0, meaning no x works`)."""
    answer = text.strip().strip("*_").strip()
    quoted = _QUOTED.match(answer)
    if quoted:
        answer = quoted.group(1).replace("\\\\", "\\").strip("*_`\" ")  # `"___3___"`, `` `"23"` ``
    answer = _REASON.split(answer, maxsplit=1)[0].strip()
    head, colon, _ = answer.partition(": ")
    return head if colon and len(head.split()) <= 5 else answer  # `3 distinct values: 1, 0, and -1`


def _markers(text: str, boxes: _Boxes) -> list[Extraction]:
    """The last "final answer is ..." outside a box with an answer after it (only the last can win); a verdict
    on the answer (`the answer is correct`) is none."""
    for match in reversed(list(_MARKER.finditer(text))[-MAX_MARKERS:]):
        if boxes.covers(match.start()):
            continue
        answer = _marker_answer(_after_marker(text, match.end()))
        if answer and not _PROSE.fullmatch(answer) and not _VERDICT.match(answer):
            return [Extraction(answer, "marker", match.start())]
    return []


def _answer_tags(text: str, boxes: _Boxes) -> list[Extraction]:
    """The last `<answer>` tag: closed (also `</answeresc`, `<endanswer>`), or left open where the model starts
    another turn (`\\nUser:`) or where its text is finished (ends in `.`, `$`, `}`); cut off mid-text, it is empty.
    The prompt's template (`<answer> answer here </answer>`) is an Extraction with no answer and method `template`."""
    closes = list(_CLOSE_TAG.finditer(text))
    close = closes[-1].start() if closes else -1
    opened = text.rfind("<answer>")
    if opened > close:  # an open tag after the last closed one
        start, rest = opened, text[opened + len("<answer>") :]
        turn = _NEXT_TURN.search(rest) or _OTHER_CLOSE.search(rest)  # `\nUser:`, or `</end think>` ends it too
        content = rest[: turn.start()] if turn else rest
        if turn is None and not _FINISHED.search(content):
            content = ""  # cut off inside the tag: no answer yet
    else:
        start = text.rfind("<answer>", 0, close)
        if close < 0 or start < 0:
            return []
        content = text[start + len("<answer>") : close]
    if boxes.covers(start):
        return []
    if _PLACEHOLDER.fullmatch(content) and content.strip():
        return [Extraction("", "template", start)]
    return [Extraction(_ANSWER_ENV.sub(" ", _HTML_TAG.sub(" ", content)), "answer_tag", start)]


def _answer_heading(text: str, boxes: _Boxes) -> list[Extraction]:
    """PRM800K's ending: a heading `# Answer` and the answer on the line after it, last in the text."""
    match = _ANSWER_HEADING.search(text.rstrip())
    if match is None or boxes.covers(match.start(1)):
        return []
    return [Extraction(_marker_answer(strip_math(match.group(1))), "marker", match.start(1))]


def _last_line_answer(text: str) -> list[Extraction]:
    """GSM8K few-shot style: the completion ends with a short line `A: 18`."""
    match = _LAST_LINE_A.search(text.rstrip())
    return [Extraction(match.group(1).strip("*_ ").rstrip("."), "marker", match.start(1))] if match else []


def _whole(text: str) -> list[Extraction]:
    """A completion that is only an answer (`1 000`, `$E$`, `\\frac{10}{9}`): short, one line, no prose."""
    stripped = text.strip().strip("*_ ")
    spans = span_bounds(stripped)
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(stripped) and len(stripped) <= 300:
        return [Extraction(spans[0][2], "whole", 0)]  # `$odd$`, `$$\\text{a regular hexagon}$$`
    if not _WHOLE.fullmatch(stripped) or _WORD.search(re.sub(r"\\[a-zA-Z]+", " ", stripped)):
        return []
    return [Extraction(stripped, "whole", 0)]


def _latex_line(text: str) -> list[Extraction]:
    """A last line that is bare LaTeX with no delimiters (`\frac{10}{9}`): math, not prose."""
    line = text.rstrip().rpartition("\n")[2].strip()
    if "\\" not in line or len(line) > 200 or _PROSE_WORD.search(re.sub(r"\\[a-zA-Z]+", " ", line)):
        return []
    return [Extraction(line.rstrip("."), "latex_line", len(text) - len(line))]


def _looks_like_answer(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.endswith(":") and len(stripped) <= 100


def clean(completion: str) -> str:
    """The text answers are looked for in: the tail of a giant completion, special tokens and LaTeX `\\ ` gone."""
    text = _SPECIAL_TOKEN.sub("\n", completion[-MAX_SCAN_CHARS:].replace("\x00", ""))
    text = _LATEX_SPACE.sub(" ", text)
    return _CONFIDENCE.sub(" ", text) if _CONFIDENCE_WORD.search(text) else text


def extract_answer(completion: str, bare_number: bool = True) -> Extraction | None:
    """The final answer of a completion, or None when it gives none."""
    return find_answer(clean(completion), bare_number)


def find_answer(text: str, bare_number: bool = True) -> Extraction | None:
    """The final answer in a `clean`ed text, or None."""
    boxes = _boxes(text)
    tags = _answer_tags(text, boxes)
    template = [tag for tag in tags if tag.method == "template"]
    explicit = [tag for tag in tags if tag.method != "template"] + _markers(text, boxes) + _answer_heading(text, boxes)
    if boxes.found:
        explicit.append(_box_group(text, boxes))
    last = max(explicit, key=lambda e: e.position) if explicit else None
    if template and last is None:
        return None  # the answer slot holds the template: the working's values are no answer
    if boxes.unclosed_at >= 0 and (last is None or boxes.unclosed_at > last.position):
        return None  # the last box was opened but never closed: a truncated answer is no answer
    if last is not None:
        return _bounded(last)
    if boxes.starts:
        return None  # every box was negated
    if text.count("```") % 2:
        return None  # cut off inside a code block, before any marked answer: earlier values are no answer
    whole = _whole(text) or _last_line_answer(text)
    if whole:
        return _bounded(whole[0])
    spans = span_bounds(text)
    implicit = [Extraction(c, "math", start) for start, _, c in spans if c.strip()]
    implicit += [Extraction(m.group(1) or m.group(2), "bold", m.start()) for m in _BOLD.finditer(text)
                 if _looks_like_answer(m.group(1) or m.group(2)) and not _inside(spans, m.start())]
    implicit = implicit or _latex_line(text)
    if implicit:
        return _bounded(max(implicit, key=lambda e: e.position))
    if bare_number:
        number = None
        for number in _NUMBER.finditer(text):  # noqa: B007 - we want the last match
            pass
        if number is not None:
            return Extraction(number.group(0), "bare_number", number.start())
    return None


def _bounded(extraction: Extraction) -> Extraction:
    answer = extraction.answer.strip()
    if len(answer) > MAX_ANSWER_CHARS:
        answer = ""  # a giant "answer" is no answer
    return Extraction(answer, extraction.method, extraction.position, extraction.parts, extraction.either)
