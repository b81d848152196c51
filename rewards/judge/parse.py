"""Reading verdicts out of a judge's own text: ratings, pairwise choices, labels, Llama Guard output.

Only the judge's output is ever parsed, never the graded completion. When a verdict marker appears
several times (a judge quoting a response that tried `[[10]]`, then giving its own), the last one
wins: judges are asked to end with their verdict. Anything unreadable is None, never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_NUM = r"(-?\d+(?:\.\d+)?)"
_RATING_PATTERNS = (
    re.compile(r"\[\[\s*" + _NUM + r"\s*(?:/\s*(\d+(?:\.\d+)?))?\s*\]\]"),
    re.compile(r"(?i)\b(?:rating|score|grade)\b[\s*]*[:=][\s*]*" + _NUM + r"[\s*]*(?:(?:/|out of)\s*(\d+(?:\.\d+)?))?"),
)
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_JSON_KEYS = ("score", "rating", "grade")
_PAIR = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
_CATEGORY = re.compile(r"\bS\d{1,2}\b")


def _json_objects(text: str) -> list[dict]:
    found = []
    for match in _JSON_OBJECT.finditer(text):
        try:
            value = json.loads(match.group())
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def parse_rating(text: str, low: float, high: float) -> float | None:
    """The judge's score on the [low, high] scale (`[[8]]`, `Rating: 8`, `Score: 8/10`, JSON), or None."""
    candidates: list[tuple[str, str | None]] = []
    for pattern in _RATING_PATTERNS:
        candidates = [(m.group(1), m.group(2)) for m in pattern.finditer(text)]
        if candidates:
            break
    if not candidates:
        candidates = [(str(obj[k]), None) for obj in _json_objects(text) for k in _JSON_KEYS
                      if isinstance(obj.get(k), int | float | str) and not isinstance(obj.get(k), bool)]
    if not candidates:
        return None
    value_text, out_of = candidates[-1]
    try:
        value = float(value_text)
        if out_of is not None:
            value = low + (high - low) * value / float(out_of) if float(out_of) != high else value
    except (ValueError, ZeroDivisionError):
        return None
    return value if low <= value <= high else None


def parse_pairwise(text: str) -> str | None:
    """"A", "B" or "tie" from MT-Bench style `[[A]]` / `[[B]]` / `[[C]]` (tie), or None."""
    matches = _PAIR.findall(text)
    if not matches:
        return None
    verdict = matches[-1].upper()
    return "tie" if verdict in ("C", "TIE") else verdict


def parse_label(text: str, labels: list[str]) -> str | None:
    """One of `labels` from `[[label]]`, `Label: label`, JSON {"label": ...} or the bare answer, or None."""
    by_lower = {label.lower(): label for label in labels}
    picks = [m.group(1) for m in re.finditer(r"\[\[\s*([^\[\]]+?)\s*\]\]", text)]
    picks += [m.group(1) for m in re.finditer(r"(?i)\blabel\b\s*\**\s*:\s*\**\s*([^\n*]+?)\s*\**\s*$", text, re.M)]
    picks += [str(obj["label"]) for obj in _json_objects(text) if "label" in obj]
    for pick in reversed(picks):
        if pick.strip().strip("\"'.").lower() in by_lower:
            return by_lower[pick.strip().strip("\"'.").lower()]
    bare = text.strip().strip("\"'.").lower()
    return by_lower.get(bare)


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
