"""From an extracted answer to the one value it states.

Models wrap the value: an equation chain (`x = 5+5+1 = 11`, `(p,q)=(3,2)`), an exact value with its
approximation (`\\frac{\\sqrt3}{3} \\approx 0.577`), a sentence (`It takes a total of 3 bolts.`), a number
word (`five`). Each rule here is a pure text function with one reading, so no answer can hedge between two.
"""

from __future__ import annotations

import re

from rewards.mathgrade.compare import Tolerance, approximately_equal, equal
from rewards.mathgrade.expr import FUNCTIONS, ParseError
from rewards.mathgrade.extract import span_bounds
from rewards.mathgrade.normalize import normalize, unwrap_commands, unwrap_math
from rewards.mathgrade.parse import Num, Sym, Value, parse_answer, split_top

_CHAIN = re.compile(r"\\approx|≈|\\simeq|(?<![<>!=\\])=(?!=)")
_SEPARATORS = re.compile(r",|;|\\quad|\\qquad|\b(?:and|or)\b")
_APPROX = re.compile(r"^\s*(?:\\approx|≈|\\simeq)\s*")
_TOKEN_EDGE = ".,;:!?\"'()*"
_PROSE_LETTERS = re.compile(r"^[A-Za-z][A-Za-z'’-]*$")
_MATHY = re.compile(r"\d|\\[a-zA-Z]+|^[-+*/^=<>×·]$|^[b-zB-HJ-Z]$")
_NUMBER_WORDS = {
    word: value for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split())
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_STATING = {  # words after which a sentence's last value is what it states
    "is", "are", "was", "were", "be", "equals", "equal", "get", "gives", "obtain", "∴", "therefore", "thus", "so",
    "hence",
}
_ITEM_SEPARATOR = re.compile(r",|;")
_SUBSCRIPT = re.compile(r"_\{[^{}]*\}|_\w|\^\{?-1\}?|'")  # `x_{1}`, `f^{-1}`, `f'`
_NAME_COMMAND = re.compile(r"\\(?:frac|dfrac|left|right|overline|angle|text|mathrm|operatorname|vec|mathbf)\b")
_NAME_CHARS = re.compile(r"[A-Za-z\s{}()|:,\\]+")
_PROSE_WORD = re.compile(r"[A-Za-z]{3,}")
_ARITHMETIC = re.compile(r"\d\s*(?:[-+*/×·]|\\times|\\cdot|\\div)\s*[\d(]")  # `2.5 * 30`, not `x = 5`
MATH_WORDS = {*FUNCTIONS, "sqrt", "pi", "infty", "infinity", "inf", "mod", "gcd", "lcm"}  # words that are math
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_OPERATORS = {"+", "-", "=", "*", "×", "/", "·", "\\times", "\\cdot", "\\div"}
_HAS_VALUE = re.compile(r"\d|\\(?:frac|sqrt|pi)")
_QUALIFIED = re.compile(  # words that bound, scale or doubt the value next to them: no single value is stated
    r"(?i)\b(?:more|less|fewer|greater|larger|smaller)\s+than\b|\bat\s+(?:least|most)\b|\bup\s+to\b"
    r"|\b(?:over|under|above|below|nearly|almost|roughly|around)\s+[$\\(]*\s*\d|\bother\s+than\b|\banything\s+but\b"
    r"|\b(?:except|besides)\b|\d\S*\s+(?:or\s+(?:more|less|fewer|so|above|below|higher|lower)|thousands?|millions?"
    r"|billions?|hundreds?|dozens?|squared|cubed|and\s+a\s+half)\b"
    r"|\b(?:wrong|incorrect|false|maybe|perhaps|possibly|probably|unless|either|debt)\b|‰"
    r"|\b(?:none|neither|nor|no\s+one|not\s+one|not\s+any)\s+of\b"
)
_NUMERAL = re.compile(r"\d+(?:\.\d+)?")
_DEGREE_OR_TRIG = re.compile(r"\\circ|°|degree|\\(?:sin|cos|tan|cot|sec|csc)\b")
_HEDGE = re.compile(r"(?i)\bor\b|\bunless\b|\beither\b")
_NOT_PLAIN = re.compile(r"[\\^{}=+*/<>×÷]")  # a sentence of prose and plain numbers has none of these
_RESULT = re.compile(r"=\s*\\?\$?\s*(\d[\d,]*(?:\.\d+)?)(?![\d.]*\s*[-+*/×^])")  # `= 1400`, `= $308`; not `= 3 * 4`
_REMARK = re.compile(  # a unit or a remark in text, no value and no joiner in it, with the unit's power
    r"\\(?:text|textnormal|textrm|mathrm|mbox)\s*\{(?![^{}]*(?:\d|\b(?:or|and)\b))[^{}]*\}(?:\^\{?\d\}?)?"
)
_MODIFIER = re.compile(r"\d+(?:\.\d+)?-[A-Za-z]{2,}(?:-[A-Za-z]+)*$")  # `the 400-meter hurdles`: a name, no value
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
    text = unwrap_commands(_APPROX.sub("", unwrap_math(text)))  # `x = 1 \text{ or } x = 2` is a list
    pieces, seps = split_top(text, _CHAIN)
    if not seps or split_top(text, _SEPARATORS)[1]:
        return text
    if not _holds(pieces, seps):
        return ""  # `x = 3 = 4`, `3 \approx 4`: a false chain states nothing
    first_approx = next((i for i, sep in enumerate(seps) if sep != "="), None)
    if first_approx is not None:
        exact = pieces[first_approx].strip()
        if exact and not re.search(r"(?<!\\)\b[a-zA-Z]\b", re.sub(r"\\[a-zA-Z]+", "", exact)):
            return exact
    return pieces[-1].strip() or text


def rounded_tail(text: str) -> str | None:
    """The rounding an `\\approx` chain ends in, when the chain holds: `2\\pi - 4 \\approx 2.283 \\approx 2.3` -> `2.3`."""
    text = _REMARK.sub(" ", unwrap_math(text))  # `2.3 \\text{ cm}^2 \\text{ (to the nearest tenth)}`
    text = unwrap_commands(re.sub(r"\\text\s*\{[^{}]*$", "", text))
    pieces, seps = split_top(text, _CHAIN)
    if not seps or seps[-1] == "=" or split_top(text, _SEPARATORS)[1] or not _holds(pieces, seps):
        return None
    return pieces[-1].strip() or None


def _holds(pieces: list[str], seps: list[str]) -> bool:
    """Whether neighbouring constant sides of a chain agree: exactly across `=`, to 1% across `\\approx`."""
    values: list[Value | None] = []
    for piece in pieces:
        try:
            value = parse_answer(piece) if piece.strip() else None
        except ParseError:
            value = None
        constant = isinstance(value, (Num, Sym)) and not (isinstance(value, Sym) and value.expr.free_symbols)
        constant = constant and not _DEGREE_OR_TRIG.search(piece)  # `\\sin(-60^\\circ)`: degrees we may misread
        values.append(value if constant else None)
    for i, sep in enumerate(seps):
        left, right = values[i], values[i + 1]
        if left is None or right is None:
            continue
        if sep == "=":
            same = equal(left, right, Tolerance(0.0, 0.0, exact=True))
        else:
            same = approximately_equal(left, right, pieces[i + 1])
        if not same:
            return False
    return True


def named_value(text: str) -> str | None:
    """A reference that names what it gives, `(p,q,r)=(3,2,7)`, `V_1:V_2=11:21`, `|AB|=1`, `AB=4, CD=5`: its
    values (`(3,2,7)`, `11:21`, `1`, `4, 5`), or None when a left side is more than a name (`x^2+y^2=25`)."""
    items, seps = split_top(unwrap_math(text), _ITEM_SEPARATOR)
    values = []
    for item in items:
        pieces, chain = split_top(item, _CHAIN)
        if chain != ["="] or not _is_name(pieces[0]):
            return None
        values.append(pieces[1].strip())
    return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"  # named values keep their order


def _is_name(text: str) -> bool:
    """Letters naming a quantity (`p`, `(p,q)`, `f(x)`, `|AB|`, `V_{1}:V_{2}`, `\\frac{NO}{BO}`), nothing computed."""
    bare = _SUBSCRIPT.sub("", _NAME_COMMAND.sub(" ", text)).strip()
    return bool(bare) and _NAME_CHARS.fullmatch(bare) is not None and any(ch.isalpha() for ch in bare)


def relation_ends(text: str) -> str:
    """An equation chain against an equation reference is its two ends: `x = 5+5+1 = 11` -> `x = 11`."""
    text = unwrap_math(text)
    pieces, seps = split_top(text, _CHAIN)
    if len(seps) < 2 or seps[0] != "=" or split_top(text, _SEPARATORS)[1]:
        return text
    rest = "".join(piece + sep for piece, sep in zip(pieces[1:], seps[1:], strict=False)) + pieces[-1]
    return f"{pieces[0].strip()} = {final_value(rest)}"


def is_prose(text: str) -> bool:
    """Whether an answer holds words beyond units and LaTeX commands (then it is read as a sentence)."""
    words = _PROSE_WORD.findall(_COMMAND.sub(" ", normalize(text).text))
    return any(word.lower() not in MATH_WORDS and word.lower() not in ("and", "nor") for word in words)


def prose_value(text: str) -> str | None:
    """The one value a sentence states (`Hillary has 7 nickels.` -> `7`, `12\\pi inches per second` -> `12\\pi`).

    Words split the text into runs of math; exactly one run may hold the value (`3 or 4 bolts` states two),
    else a paragraph's last sentence must state exactly one (`... Thus $x$ is $16$.`). Without digits, one
    number in words counts (`five`, `one hundred fifty-two`).
    """
    value = _one_run(text)
    if value is None:
        sentences = [s for s in _sentences(text.strip()) if s.strip()]
        if len(sentences) > 1:
            value = _one_run(sentences[-1])
    return value


def _one_run(text: str) -> str | None:
    runs: list[list[str]] = []
    last_lead, words_after = "", 0
    for line in _pieces(text):
        runs.append([])
        lead = ""
        for token, is_span in line:
            bare = token if is_span else token.strip(_TOKEN_EDGE)
            mathy = (bare and _MATHY.search(bare) and not _PROSE_LETTERS.match(bare) and not _MODIFIER.match(bare)
                     or bare.lower() in MATH_WORDS)
            if is_span or token in _OPERATORS or mathy:
                if not runs[-1]:
                    last_lead, words_after = lead, 0
                    if lead in _NEGATIONS:
                        runs[-1].append("\\not")  # `is not 5` states no value: the run can never count
                runs[-1].append(token if is_span else token.rstrip(".;:?\"'"))
            else:
                lead = bare.lower()
                words_after += 1
                if runs[-1]:
                    runs.append([])
    negated = sum(1 for run in runs if run[:1] == ["\\not"])
    runs = [run for run in runs if run[:1] != ["\\not"] and any(ch.isdigit() or ch == "\\" for ch in "".join(run))]
    if runs and _QUALIFIED.search(normalize(text).text) or len(runs) + negated > 1 and _HEDGE.search(text):
        return None  # `more than 3`, `3 thousand`, `3 or more`, `It is 3 or it is 4`: no single value stated
    if negated and len(runs) == 1 and last_lead in _NEGATIONS:
        return None
    # a sentence's last value counts when a stating word leads to it or it ends a computation (`72 * 3 = 216`)
    states = bool(runs) and (last_lead in _STATING or any("=" in token for token in runs[-1]))
    if len(runs) == 1 or states and words_after <= 5:
        return _balanced(" ".join(runs[-1]))  # one value, or a sentence that ends stating one: `... is 60.`
    computed = [i for i, run in enumerate(runs) if any("=" in token for token in run) and _ARITHMETIC.search(" ".join(run))]
    if len(computed) == 1 and _only_restated(runs, computed[0]):
        return _balanced(" ".join(runs[computed[0]]))  # the one computation among given quantities: `$2.5 * 30 = $75`
    if runs:
        return None
    numbers = _number_phrases(normalize(text).text.split())
    return numbers[0] if len(numbers) == 1 else None


def _only_restated(runs: list[list[str]], at: int) -> bool:
    """Whether every value after run `at` restates a number already written before it (`... = $75 if he sells it
    for $2.5`), so no later value can be the result (`3 * 4 = 12 apples, leaving 7` states 7, not 12)."""
    before = set(_NUMERAL.findall(" ".join(token for run in runs[: at + 1] for token in run)))
    after = _NUMERAL.findall(" ".join(token for run in runs[at + 1 :] for token in run))
    return all(number in before for number in after)


def _balanced(run: str) -> str:
    """A run with brackets it does not pair dropped from its ends (`16}` from `{"answer": 16}`, `(15 * 12 = 180`),
    and a pair around all of it that is only grouping: `(15 * 12 = 180)` -> `15 * 12 = 180`."""
    run = run.strip(" *\"',")
    for opener, closer in ("{}", "()", "[]"):
        while run.endswith(closer) and run.count(closer) > run.count(opener):
            run = run[:-1].rstrip()
        while run.startswith(opener) and run.count(opener) > run.count(closer):
            run = run[1:].lstrip()
    if run[:1] == "(" and run[-1:] == ")" and not split_top(run[1:-1], _SEPARATORS)[1]:
        inner = run[1:-1]
        if split_top(inner, _CHAIN)[1]:
            return inner
    return run


def _sentences(text: str) -> list[str]:
    """Sentences and lines, never split inside a math span (a displayed matrix is one sentence)."""
    spans = span_bounds(text)
    pieces, last = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        if not any(start < match.start() < end for start, end, _ in spans):
            pieces.append(text[last : match.start()])
            last = match.end()
    return [*pieces, text[last:]]


def _pieces(text: str) -> list[list[tuple[str, bool]]]:
    """Lines of (token, is a whole math span): `$19, 46, and 82$` stays one token, prose splits into words."""
    lines: list[list[tuple[str, bool]]] = [[]]
    last = 0
    for start, end, content in span_bounds(text):
        _words(text[last:start], lines)
        lines[-1].append((normalize(content).text, True))
        last = end
    _words(text[last:], lines)
    return lines


def _words(text: str, lines: list[list[tuple[str, bool]]]) -> None:
    for i, line in enumerate(text.split("\n")):
        if i:
            lines.append([])
        lines[-1].extend((token, False) for token in normalize(line).text.split() if token)


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


def last_statement(text: str) -> tuple[bool, str | None]:
    """For completions that mark no answer: whether any sentence holds math, and the value that the last such
    sentence states (`Since $x = 5$, the total is 12.` -> 12), or None when it states no single one."""
    tail = text.strip()[-4000:]
    for sentence in reversed(_sentences(tail)):
        if _HAS_VALUE.search(sentence):
            value = prose_value(sentence)
            return True, value if value is not None else _restated_result(sentence, tail[: tail.rfind(sentence)])
    return False, None


def _restated_result(sentence: str, before: str) -> str | None:
    """The value of a closing sentence with several numbers when exactly one is the result of the last computation
    before it and every other one was already written before that (`... = 1400 bananas.` then `So the zookeeper
    orders 1400 bananas to last for 2 months.` states 1400); a sentence that adds a new number states no single value
    (`So 1400 a month makes 2800 bananas.`), nor does a hedged or bounded one, nor one with math beyond plain numbers
    (`and their product is also $1 + e^{i}$`: a step of a derivation, not its conclusion)."""
    results: list[str] = _RESULT.findall(before)
    if not results or _NOT_PLAIN.search(sentence) or _HEDGE.search(sentence) or _QUALIFIED.search(normalize(sentence).text):
        return None
    result, given = results[-1].replace(",", ""), set(_NUMERAL.findall(before.replace(",", "")))
    numbers = _NUMERAL.findall(sentence.replace(",", ""))
    others = [n for n in numbers if n != result]
    if len(numbers) < 2 or result not in numbers or not all(n in given for n in others):
        return None
    return result


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
    if match is None or len(match.group(2)) == 3 or not match.group(2).strip("0"):
        return None  # `5,0` and `1,0000` are lists or separators, not 5 and 1
    return f"{match.group(1)}.{match.group(2)}"
