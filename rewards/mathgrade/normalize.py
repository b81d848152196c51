"""Canonical answer text: the LaTeX noise, units, currency and wrappers that never change an answer, gone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.mathgrade.extract import brace_pairs

_WRAPPER = re.compile(
    r"\\(?:boxed|fbox|text|textbf|textit|textrm|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|mbox|hbox"
    r"|emph|bf)\s*\{"
)
_THOUSANDS = re.compile(r"(?<=\d)\s*(?:,\\!|\{,\})\s*(?=\d{3}(?!\d))")  # MATH's `10,\!080`, `50{,}625`
_BASE = re.compile(r"(?<=\w)_\{(\w+)\}")  # `4210_{5}` -> `4210_5`
_BASE_DIGITS = re.compile(r"^(-?\d+)_(?:\d{1,2}|[a-z])$")  # a numeral in base b is its digits: `4210_5`, `-221_3`, `100_b`
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUBSCRIPT_RUN = re.compile("[₀-₉]+")
_EMPTY_SET = re.compile(r"\\varnothing\b|\\emptyset\b|∅|^\\\{\s*\\\}$")
_LT_GT = {"\\lt": "<", "\\gt": ">", "\\leqslant": "\\le", "\\geqslant": "\\ge"}
_LT_GT_RE = re.compile(r"\\(?:lt|gt|leqslant|geqslant)(?![a-zA-Z])")
_DOUBLED_BACKSLASH = re.compile(  # `\\\\frac` escaped twice on its way through JSON is `\\frac`, not a line break
    r"\\\\(?=(?:d?frac|sqrt|leq?|geq?|neq?|boxed|left|right|cdot|times|pi|infty|text|mathrm|in|cup|cap|pm)\b|[()])"
)
_SPACING = re.compile(
    r"\\(?:left|right|big|Big|bigg|Bigg|displaystyle|textstyle)\b|(?<!\\)\\[,;:! ]|\\q?quad|~|\\limits\b"
)
_DEGREES = re.compile(r"\^\s*(?:\{\s*\\circ\s*\}|\\circ)|°|\\degree\b|\s*\bdegrees?\b")
_PERCENT = re.compile(r"\s*(?:\\?%|\bpercent\b)\s*$")  # a trailing percent sign: `3\\%4` is not 34
_CURRENCY = re.compile(r"\\\$|\$|€|£|¥|\bUSD\b|\\euro\b|\\pounds\b|\\textdollar\b")
_DIGIT_GAP = re.compile(r"(?<=\d)\s+(?=\d)")
_SPACE_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:[ \u2009\u202f]\d{3})+)(?![\d.])")  # `1 000 000`
# words in `\text{}` after a number are its unit, whatever the word: `428\text{ square centimeters}`, `16\text{ daps}`
_TEXT_UNIT = re.compile(r"(?:(?<=\d)|(?<=\d\})|(?<=\\pi))\s*(?!\\\w+\s*\{[^}]*\b(?:or|and|than|more|less|not|but)\b)\\(?:text|mbox|mathrm|textrm)\s*\{\s*[A-Za-z][A-Za-z .'-]{0,40}\}\s*\.?\s*$")
_UNIT_WORDS = (
    r"km/h|km/hr|m/s|ft/s|mi/h|cm/s|cm|mm|km|m|meters?|metres?|inches|inch|in|feet|foot|ft|yards?|yd|miles?|mi|units?|sq|square|cubic"
    r"|hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s|days?|weeks?|months?|years?|mph|kph|kg|g|grams?"
    r"|pounds?|lbs?|oz|ounces?|cents?|dollars?|liters?|litres?|l|ml|cups?|people|students|ways|times"
    r"|points?|marbles|apples|books|cookies|pages"
)
_UNIT = re.compile(rf"(?<=[\d}}.])(?:\s+(?:{_UNIT_WORDS})\b(?:\^\{{?[23]\}}?|²|³)?)+$", re.IGNORECASE)
_TEXT_PREFIX = re.compile(r"^(?:the\s+answer\s+is|answer\s*:|final\s+answer\s*:?)\s*", re.IGNORECASE)
_MATH_WRAP = re.compile(r"^(?:\$\$|\$|\\\[|\\\()(.*?)(?:\$\$|\$|\\\]|\\\))$", re.DOTALL)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: " "}
_SYMBOLS = {
    "\u2212": "-", "\ufe63": "-", "\u2213": "\\mp ", "π": "\\pi ", "∞": "\\infty ", "×": "\\times ",
    "·": "\\cdot ", "⋅": "\\cdot ", "÷": "\\div ", "√": "sqrt ",
    "½": "\\frac{1}{2}", "⅓": "\\frac{1}{3}", "⅔": "\\frac{2}{3}", "¼": "\\frac{1}{4}", "¾": "\\frac{3}{4}",
}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
_UNICODE = re.compile("[" + "".join(_SYMBOLS) + "]")


@dataclass(frozen=True)
class Normalized:
    """Answer text with the noise removed, and the markers that were taken off."""

    text: str
    percent: bool = False
    degrees: bool = False


def plain_unicode(text: str) -> str:
    """Unicode math as ASCII/LaTeX (`−3`, `x²`, `√2`, `½`, full-width forms); invisible characters dropped."""
    if text.isascii():  # letters from other scripts stay as they are: a Cyrillic `А` is not the answer `A`
        return text
    text = text.translate(_INVISIBLE).translate(_FULL_WIDTH)
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPTS) + "}", text)
    text = _SUBSCRIPT_RUN.sub(lambda m: "_{" + m.group(0).translate(_SUBSCRIPTS) + "}", text)  # `221₃`
    return _UNICODE.sub(lambda m: _SYMBOLS[m.group(0)], text)


def unwrap_math(text: str) -> str:
    """`$x$`, `\\[ x \\]`, `\\( x \\)` -> `x` (up to three layers)."""
    text = text.strip()
    for _ in range(3):
        wrapped = _MATH_WRAP.match(text)
        if wrapped is None:
            break
        text = wrapped.group(1).strip()
    return text


def unwrap_commands(text: str) -> str:
    """`\\text{cm}` -> ` cm`, `\\boxed{x}` -> `x`: drop the wrapper command, keep its content."""
    for _ in range(8):  # wrappers nest only a few deep in real answers
        match = _WRAPPER.search(text)
        if match is None:
            return text
        open_at = match.end() - 1
        close = brace_pairs(text).get(open_at)
        if close is None:
            return text[: match.start()] + text[open_at + 1 :]
        pad = " " if match.group(0).startswith(("\\text", "\\mbox", "\\hbox", "\\mathrm")) else ""
        text = text[: match.start()] + pad + text[open_at + 1 : close] + text[close + 1 :]
    return text


def normalize(answer: str) -> Normalized:
    """Canonical text of an answer, plus whether it carried a percent or degree sign."""
    text = unwrap_math(_DOUBLED_BACKSLASH.sub(r"\\", plain_unicode(answer.replace("\x00", "")).strip()))
    text = unwrap_commands(_TEXT_UNIT.sub("", text))
    text = _THOUSANDS.sub("", text)
    text = _SPACE_THOUSANDS.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), text)
    text = _SPACING.sub(" ", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", "")
    text = _BASE_DIGITS.sub(r"\1", _BASE.sub(r"_\1", text))
    text = _EMPTY_SET.sub(lambda _: "\\emptyset", text.strip())
    text = _LT_GT_RE.sub(lambda m: _LT_GT[m.group(0)], text)
    text = _TEXT_PREFIX.sub("", text.strip())
    degrees = bool(_DEGREES.search(text))
    text = _DEGREES.sub("", text)
    percent = bool(_PERCENT.search(text))
    text = _PERCENT.sub("", text)
    text = _CURRENCY.sub("", text)
    text = " ".join(text.split()).rstrip(".").strip()
    text = _UNIT.sub("", text).strip()
    return Normalized(text, percent, degrees)


def squash(text: str) -> str:
    """Whitespace-free form used by the cheapest comparison stage; digits apart stay apart (`3 5` is not 35)."""
    return "".join(_DIGIT_GAP.sub("_", text).split())
