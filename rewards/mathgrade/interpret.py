"""From an extracted answer to the one value it states.

Models wrap the value: an equation chain (`x = 5+5+1 = 11`, `(p,q)=(3,2)`), an exact value with its
approximation (`\\frac{\\sqrt3}{3} \\approx 0.577`), a sentence (`It takes a total of 3 bolts.`), a number
word (`five`). Each rule here is a pure text function with one reading, so no answer can hedge between two.
"""

from __future__ import annotations

import re

from rewards.mathgrade.normalize import normalize, unwrap_commands
from rewards.mathgrade.parse import split_top

_CHAIN = re.compile(r"\\approx|≈|\\simeq|(?<![<>!=\\])=(?!=)")
_SEPARATORS = re.compile(r",|;|\\quad|\\qquad|\b(?:and|or)\b")
_APPROX = re.compile(r"^\s*(?:\\approx|≈|\\simeq)\s*")
_TOKEN_EDGE = ".,;:!?\"'()"
_PROSE_LETTERS = re.compile(r"^[A-Za-z][A-Za-z'’-]*$")
_MATHY = re.compile(r"\d|\\[a-zA-Z]+|^[-+*/^=<>×·]$|^[b-zB-HJ-Z]$")
_NUMBER_WORDS = {
    word: value for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split())
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_MATH_DELIMITERS = re.compile(r"\\[()\[\]]|\$")
_STATING = {  # words after which a sentence's last value is what it states
    "is", "are", "was", "were", "be", "equals", "equal", "get", "gives", "obtain", "∴", "therefore", "thus", "so",
    "hence",
}
_NEGATIONS = {"not", "never", "isn't", "isn’t", "no", "nor", "except"}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
_ONES = {word: value for word, value in _NUMBER_WORDS.items() if 0 < value < 10}


def is_approximation(text: str) -> bool:
    """A part that only restates an earlier value approximately (`\\approx 1.414`)."""
    return bool(_APPROX.match(text))


def final_value(text: str) -> str:
    """The value an equation chain ends in: `x = 5+5+1 = 11` -> `11`, `(p,q)=(3,2)` -> `(3,2)`.

    With `\\approx` in the chain, the last exact side wins when it is a constant (`\\frac{1}{3} \\approx 0.333`
    -> `\\frac{1}{3}`), else what follows (`x \\approx 11` -> `11`). A list (`x = 1, y = 2`) is left whole.
    """
    text = unwrap_commands(_APPROX.sub("", text))  # `x = 1 \text{ or } x = 2` is a list
    pieces, seps = split_top(text, _CHAIN)
    if not seps or split_top(text, _SEPARATORS)[1]:
        return text
    first_approx = next((i for i, sep in enumerate(seps) if sep != "="), None)
    if first_approx is not None:
        exact = pieces[first_approx].strip()
        if exact and not re.search(r"(?<!\\)\b[a-zA-Z]\b", re.sub(r"\\[a-zA-Z]+", "", exact)):
            return exact
    return pieces[-1].strip() or text


def prose_value(text: str) -> str | None:
    """The one value a sentence states (`Hillary has 7 nickels.` -> `7`, `12\\pi inches per second` -> `12\\pi`).

    Words split the text into runs of math; exactly one run may hold the value (`3 or 4 bolts` states two),
    else a paragraph's last sentence must state exactly one (`... Thus $x$ is $16$.`). Without digits, one
    number in words counts (`five`, `one hundred fifty-two`).
    """
    value = _one_run(text)
    if value is None:
        sentences = [s for s in _SENTENCE_BREAK.split(text.strip()) if s.strip()]
        if len(sentences) > 1:
            value = _one_run(sentences[-1])
    return value


def _one_run(text: str) -> str | None:
    runs: list[list[str]] = []
    last_lead, words_after = "", 0
    for line in _MATH_DELIMITERS.sub(" ", text).splitlines():
        runs.append([])
        lead = ""
        for token in normalize(line).text.split():
            bare = token.strip(_TOKEN_EDGE)
            if bare and _MATHY.search(bare) and not _PROSE_LETTERS.match(bare) or bare in ("+", "-", "="):
                if not runs[-1]:
                    last_lead, words_after = lead, 0
                    if lead in _NEGATIONS:
                        runs[-1].append("\\not")  # `is not 5` states no value: the run can never count
                runs[-1].append(bare if token[-1:] in _TOKEN_EDGE and token[:1] not in "(" else token)
            else:
                lead = bare.lower()
                words_after += 1
                if runs[-1]:
                    runs.append([])
    negated = sum(1 for run in runs if run[:1] == ["\\not"])
    runs = [run for run in runs if run[:1] != ["\\not"] and any(ch.isdigit() or ch == "\\" for ch in "".join(run))]
    if negated and len(runs) == 1 and last_lead in _NEGATIONS:
        return None
    if len(runs) == 1 or runs and last_lead in _STATING and words_after <= 3:
        return " ".join(runs[-1])  # one value, or a sentence that ends stating one: `... the root of 3600 is 60.`
    if runs:
        return None
    numbers = _number_phrases(text.split())
    return numbers[0] if len(numbers) == 1 else None


def _number_phrases(tokens: list[str]) -> list[str]:
    """The numbers written in words among `tokens`: `one hundred fifty-two` -> `152`."""
    found: list[str] = []
    total = current = 0
    in_number = False
    for token in [*tokens, ""]:
        word = token.strip(_TOKEN_EDGE).lower()
        small = number_word(word)
        if small is not None:
            current += int(small)
        elif word in _SCALES and in_number:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
        elif word == "and" and in_number:
            continue
        else:
            if in_number:
                found.append(str(total + current))
            total = current = 0
            in_number = False
            continue
        in_number = True
    return found


def number_word(token: str) -> str | None:
    """`five` -> `5`, `Twenty-one` -> `21`; None for anything else."""
    word = token.strip(_TOKEN_EDGE).lower()
    if word in _NUMBER_WORDS:
        return str(_NUMBER_WORDS[word])
    tens, _, ones = word.partition("-")
    if tens in _NUMBER_WORDS and _NUMBER_WORDS[tens] >= 20 and ones in _ONES:
        return str(_NUMBER_WORDS[tens] + _ONES[ones])
    return None


def decimal_comma(text: str) -> str | None:
    """`2,74` -> `2.74` where the comma cannot separate thousands (not exactly three digits after it)."""
    match = re.fullmatch(r"\s*(-?\d+),(\d+)\s*", text)
    if match is None or len(match.group(2)) == 3:
        return None
    return f"{match.group(1)}.{match.group(2)}"
