"""Final-answer extraction: each marker, precedence, the last answer winning, and hostile text."""

import pytest

from rewards.mathgrade.extract import MAX_ANSWER_CHARS, brace_pairs, extract_answer, math_spans, strip_math


@pytest.mark.parametrize("completion, answer, method", [
    (r"so \boxed{42}", "42", "boxed"),
    (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}", "boxed"),
    (r"\boxed{\frac{\sqrt{2}}{\sqrt{3}}} done", r"\frac{\sqrt{2}}{\sqrt{3}}", "boxed"),
    (r"\fbox{7}", "7", "boxed"),
    (r"$\boxed 5$", "5", "boxed"),
    (r"\boxed {  8 }", "8", "boxed"),
    (r"\boxed{\{1, 2\}}", r"\{1, 2\}", "boxed"),
    (r"first \boxed{1} then \boxed{2}", "2", "boxed"),
    (r"\boxed{1} and finally <answer>3</answer>", "3", "answer_tag"),
    (r"<answer>3</answer> but \boxed{4}", "4", "boxed"),
    ("<answer> 12 </answer>", "12", "answer_tag"),
    ("The final answer is 12.", "12", "marker"),
    ("The final answer is $\\frac{3}{4}$. I hope it is correct.", r"\frac{3}{4}", "marker"),
    ("Final Answer: 3.5\nmore text", "3.5", "marker"),
    ("Answer: (C)", "(C)", "marker"),
    ("So the answer is 2 and we are done", "2 and we are done", "marker"),
    ("The answer is $x = 5$.", "x = 5", "marker"),
    (r"Final answer: \boxed{6}", "6", "boxed"),
    ("we compute $x^2$ and get $49$", "49", "math"),
    (r"thus \[ \frac{1}{7} \]", r" \frac{1}{7} ", "math"),
    (r"thus \( 7 \)", " 7 ", "math"),
    ("thus $$12$$", "12", "math"),
    ("The total is **73**", "73", "bold"),
    ("**Step 1:** add\nThe total is **73**.", "73", "bold"),
    ("**$73$**", "73", "whole"),
    ("there are 3 apples and 5 pears, 8 in all", "8", "bare_number"),
    ("it costs 1,234 dollars", "1,234", "bare_number"),
    ("-3.5 it is", "-3.5", "bare_number"),
    ("about 1.5e3", "1.5e3", "bare_number"),
    ("ratio 3/4", "3/4", "bare_number"),
    ("48 / 2 = 24 clips.\n#### 72", "72", "marker"),
])
def test_extracts_the_final_answer(completion, answer, method):
    found = extract_answer(completion)
    assert found is not None
    assert (found.answer, found.method) == (answer.strip(), method)


@pytest.mark.parametrize("completion", [
    "", "no numbers here", "   ", "\x00\x00", r"\boxed{", r"\boxed{1", "\\boxed{" * 500 + "1",
])
def test_no_answer(completion):
    assert extract_answer(completion) is None


def test_bare_number_fallback_can_be_disabled():
    assert extract_answer("it is 5", bare_number=False) is None
    assert extract_answer("it is $5$", bare_number=False).answer == "5"


def test_empty_box_is_the_answer_and_counts_as_empty():
    found = extract_answer(r"\boxed{5} wait, \boxed{}")
    assert found.answer == "" and found.method == "boxed"


def test_nested_and_escaped_braces():
    assert extract_answer(r"\boxed{\{1,\{2\}\}}").answer == r"\{1,\{2\}\}"
    assert extract_answer(r"\boxed{a{b{c}}d}").answer == "a{b{c}}d"
    assert extract_answer(r"\boxed{\boxed{3}}").answer == "3"


def test_marker_later_than_box_wins():
    assert extract_answer(r"\boxed{5}. Hmm, actually the final answer is 7.").answer == "7"


def test_math_later_than_bold_wins():
    assert extract_answer("**Result** then $9$").answer == "9"


def test_bold_heading_is_not_an_answer():
    assert extract_answer("**Solution:** we get 4").method == "bare_number"


def test_nul_bytes_are_ignored():
    assert extract_answer("\x00\\boxed{1\x00}\x00").answer == "1"


def test_giant_answer_is_empty():
    found = extract_answer(r"\boxed{" + "1" * (MAX_ANSWER_CHARS + 1) + "}")
    assert found.answer == ""


@pytest.mark.parametrize("text", [
    "$" * 1000,
    "$" * 1001 + "5",
    "\\boxed{" * 5000,
    "{" * 20000 + "}" * 3,
    "Answer:" * 20000,
    "<answer>" * 10000 + "</answer>",
    "**" * 20000,
    "\\[" * 10000 + "\\]",
    "1," * 50000,
])
def test_hostile_text_gives_a_bounded_answer_or_none(text):
    found = extract_answer(text)
    assert found is None or len(found.answer) <= MAX_ANSWER_CHARS


def test_thousand_dollars_still_finds_a_real_answer():
    assert extract_answer("$" * 1000 + r" so \boxed{3}").answer == "3"


def test_brace_pairs_and_math_spans():
    assert brace_pairs("{a{b}c}") == {0: 6, 2: 4}
    assert brace_pairs(r"\{x\}") == {}
    assert math_spans(r"a $x$ b \(y\) c $$z$$ \$5") == [(2, "x"), (8, "y"), (16, "z")]
    assert strip_math(r"$x$ costs \$5") == "x costs $5"
