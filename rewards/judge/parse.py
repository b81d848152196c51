"""Reading verdicts out of a judge's own text: ratings, pairwise choices, labels, Llama Guard output.

Only the judge's output is ever parsed, never the graded completion. Verdicts are read in tiers,
and the first tier that has any decides: the explicit marker the prompt asks for (`[[8]]`, `[[A]]`,
`[[label]]`), then a labelled verdict (`Rating: 8/10`, `I would rate this response **6/10**`,
`Score: 7 out of 10`, `Label: correct`), then a JSON object (`{"score": 8}`, `{"label": ...}`), then
(labels only) the whole answer being a label. So a JSON label the judge quotes from the completion
never outranks the judge's own `[[label]]`. Within the deciding tier the same verdict may repeat,
but two different verdicts (`Rating: [[2]]. (Earlier I considered [[9]] but no.)`) raise
`Ambiguous`: the judge failed to decide, which is a judge failure, not a score. Anything else that
cannot be read is None; no other exception escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

_NUM = r"(-?\d+(?:\.\d+)?)"
_OUT_OF = r"(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))"
_DECO = r"[\s*_`\"']*"  # markdown and quotes judges put around verdicts
_RATING_TIERS = (
    (re.compile(r"\[\[\s*" + _NUM + r"\s*(?:/\s*(\d+(?:\.\d+)?))?\s*\]\]"),),
    (
        re.compile(r"(?i)\b(?:rating|score|grade|verdict)\b" + _DECO + r"(?:[:=]|is|of|would\s+be|should\s+be)"
                   + _DECO + _NUM + _DECO + _OUT_OF + r"?(?![\d.]*\d)"),
        re.compile(r"(?i)\b(?:rate|give|score|grade|award)\s+(?:this|the|it|my)\b[^.\n\d\[\]]{0,40}?" + _DECO
                   + r"(?<![\w.-])" + _NUM + _DECO + _OUT_OF + r"(?![\w.]*\d)"),
        re.compile(r"(?i)\b(?:rate|give|score|grade|award)\s+(?:this|the|it|my)\b(?:\s+\w+){0,3}?\s+(?:a|an|as|at)"
                   + _DECO + _NUM + r"(?![\w.]*\d)(?!\s*(?:/|out\s+of))"),
        re.compile(r"(?i)\b(?:overall|final|total)\b" + _DECO + r":?" + _DECO + _NUM + _DECO + _OUT_OF),
    ),
)
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_JSON_KEYS = ("score", "rating", "grade")
_PAIR = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
_MARKER = re.compile(r"\[\[\s*([^\[\]]+?)\s*\]\]")
_LABEL_LINE = re.compile(r"(?im)\blabel\b\s*\**\s*:\s*\**\s*([^\n*]+?)\s*\**\s*$")
_CATEGORY = re.compile(r"\bS\d{1,2}\b")


class Ambiguous(ValueError):
    """The judge's own text (`text`) gives two different verdicts."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


def _decide(text: str, tiers: Iterable[Callable[[], list[T]]]) -> T | None:
    """The verdict of the first tier that has one; Ambiguous when that tier's verdicts differ."""
    for tier in tiers:
        found = tier()
        if found:
            distinct = list(dict.fromkeys(found))
            if len(distinct) > 1:
                raise Ambiguous(f"the judge gave different verdicts: {', '.join(map(str, distinct))}"[:300], text)
            return distinct[0]
    return None


def _json_objects(text: str) -> list[dict[str, Any]]:
    found = []
    for match in _JSON_OBJECT.finditer(text):
        try:
            value = json.loads(match.group())
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _on_scale(value_text: str, out_of: str | None, low: float, high: float) -> float | None:
    """The value on [low, high]: `N/high` as is, `N/M` rescaled; None if unreadable."""
    try:
        value = float(value_text)
        if out_of is not None and float(out_of) != high:
            value = low + (high - low) * value / float(out_of)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return round(value, 9)


def parse_rating(text: str, low: float, high: float) -> float | None:
    """The judge's score on the [low, high] scale, or None; raises Ambiguous (see the module docstring).

    A verdict outside the scale is still a verdict: alone it is unreadable (None), beside a different
    one it makes the text ambiguous."""
    def tier(patterns: tuple[re.Pattern[str], ...]) -> Callable[[], list[float | None]]:
        return lambda: [_on_scale(m[1], m[2] if m.re.groups > 1 else None, low, high) for p in patterns for m in p.finditer(text)]

    def json_tier() -> list[float | None]:
        return [_on_scale(str(obj[k]), None, low, high) for obj in _json_objects(text) for k in _JSON_KEYS
                if isinstance(obj.get(k), int | float | str) and not isinstance(obj.get(k), bool)]

    value = _decide(text, [*(tier(patterns) for patterns in _RATING_TIERS), json_tier])
    return value if value is not None and low <= value <= high else None


def parse_pairwise(text: str) -> str | None:
    """"A", "B" or "tie" from MT-Bench style `[[A]]` / `[[B]]` / `[[C]]` (tie), or None; Ambiguous if several."""
    return _decide(text, [lambda: ["tie" if v.upper() in ("C", "TIE") else v.upper() for v in _PAIR.findall(text)]])


def parse_label(text: str, labels: list[str]) -> str | None:
    """One of `labels` from `[[label]]`, `Label: label`, JSON {"label": ...} or the bare answer, or None.

    `[[...]]` markers that name no label are not verdicts, but when no marker names one the text is
    unreadable: it never falls through to lower tiers, which may be quoting the completion."""
    by_lower = {label.lower(): label for label in labels}

    def known(picks: Iterable[str]) -> list[str | None]:
        return [by_lower.get(p.strip().strip("\"'.").lower()) for p in picks]

    def markers() -> list[str | None]:
        found = known(m.group(1) for m in _MARKER.finditer(text))
        return [label for label in found if label] or found[:1]

    return _decide(text, [
        markers,
        lambda: known(m.group(1) for m in _LABEL_LINE.finditer(text)),
        lambda: known(str(obj["label"]) for obj in _json_objects(text) if "label" in obj),
        lambda: known([text]),
    ])


@dataclass(frozen=True)
class GuardVerdict:
    safe: bool
    categories: list[str] = field(default_factory=list)


def parse_guard(text: str) -> GuardVerdict | None:
    """Llama Guard's answer: `safe`, or `unsafe` followed by category codes like `S2,S10`; else None."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    first = lines[0].lower().strip(".")
    if first == "safe":
        return GuardVerdict(safe=True)
    if first == "unsafe":
        return GuardVerdict(safe=False, categories=_CATEGORY.findall(" ".join(lines[1:])))
    return None
