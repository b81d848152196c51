"""Cutting a solution into reasoning steps, and folding per-step scores into one reward."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Literal

Aggregate = Literal["min", "last", "mean", "product"]
_STEP_K = re.compile(r"(?im)^[ \t#*]*step[ \t]*\d+[ \t]*[:.)]")
_DECORATION = re.compile(r"[\s*#_:.)\-]*")


def _has_content(part: str, split: str) -> bool:
    """Something besides whitespace, invisible format characters, markdown and (step_k) the step header."""
    if split == "step_k":
        part = _STEP_K.sub("", part, count=1)
    visible = "".join(ch for ch in part if unicodedata.category(ch) != "Cf")
    return not _DECORATION.fullmatch(visible)


def split_steps(text: str, split: str) -> list[str]:
    """Steps of `text` with content: by "\\n\\n", "\\n", "step_k" (Step 1:, Step 2:, ...), or a custom regex.

    A separator at the end (or twice in a row) makes no step: neither does a part that is only
    whitespace, zero-width characters, markdown, or a `Step k:` header."""
    if split in ("\n\n", "\n"):
        parts = text.split(split)
    elif split == "step_k":
        starts = [m.start() for m in _STEP_K.finditer(text)]
        bounds = [0, *starts] if not starts or starts[0] != 0 else starts
        parts = [text[a:b] for a, b in zip(bounds, [*bounds[1:], len(text)], strict=True)]
    else:  # the regex's matches separate steps (its groups, if any, are not steps)
        cuts = [(m.start(), m.end()) for m in re.finditer(split, text) if m.end() > m.start()]
        ends, starts = [c[0] for c in cuts] + [len(text)], [0] + [c[1] for c in cuts]
        parts = [text[a:b] for a, b in zip(starts, ends, strict=True)]
    return [p.strip() for p in parts if _has_content(p, split)]


def aggregate(scores: list[float | None], how: Aggregate) -> float | None:
    """The reward from step scores; unscored steps (None) are left out; None if nothing is scored."""
    scored = [s for s in scores if s is not None]
    if not scored:
        return None
    if how == "min":
        return min(scored)
    if how == "last":
        return scored[-1]
    if how == "mean":
        return sum(scored) / len(scored)
    return math.prod(scored)
