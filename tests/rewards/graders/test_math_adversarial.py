"""Red-team of the math grader: what a policy in RL training would try, written as the grader's contract.

Every table row is one attempt; the comments say what it exploited before the fix. Decisions on
ambiguous notation are tested explicitly (and explained) so they stay deliberate:
- The last answer counts: a later box, answer tag or answer statement ("the answer might be 4")
  overrides an earlier one. A box right after a negation ("not \\boxed{4}") is not an answer, and an
  "answer is ..." that is prose ("the answer is consistent with ...") does not override a box.
- Several answers at once never match one answer: lists, "or"/"and", several choice letters, a box
  inside a box, an answer tag hidden inside a box.
- An integer reference is exact: a nearby decimal (`3.0000000001`) or a non-integer expression never
  matches it, whatever `rel_tol` says (an explicit `abs_tol` still applies); `rel_tol` is for
  non-integer references.
- A percent sign is a unit, read one way per reference so no answer can hedge: the numbers compare as
  written (`50\\%` and `50` agree, `5000\\%` is not `50`), except that an answer's `%` against a reference
  strictly between -1 and 1 (a proportion) is its value (`50\\%` is `0.5`, `0.5\\%` is not `0.5`).
- Several boxes side by side are one answer: the items of a set or tuple reference, or one value stated
  again or approximately (`\\boxed{\\frac13} \\approx \\boxed{0.333}`); two different values are a hedge.
- One-item brackets are grouping (`(3)` and `[3]` are 3); a one-item set `\\{3\\}` is a set, not 3.
- A number word alone is its number (`five`, `\\text{three}`); a sentence states its one value.
"""

import pytest
import sympy

from rewards.graders.math import MathSpec, score
from rewards.mathgrade.compare import sample_points
from rewards.mathgrade.extract import extract_answer
from rewards.types import Sample

SPEC = MathSpec()


def graded(reference, completion, spec=SPEC):
    result = score(spec, Sample(completion=completion, reference=reference))
    assert result.error is None
    return result


def reward(reference, completion, spec=SPEC) -> float:
    return graded(reference, completion, spec).reward


# --- several answers at once ---------------------------------------------------------------------------------

SEVERAL_ANSWERS = [
    # several choice letters: the leading letter alone used to decide
    ("A", r"\boxed{(A) or (B)}"), ("A", r"\boxed{A B C D}"), ("A", r"\boxed{A or B}"), ("A", r"\boxed{A and B}"),
    ("A", r"\boxed{(A)(B)}"), ("A", r"\boxed{\text{(A) and (B)}}"), ("A", r"\boxed{A: 3, B: 4}"),
    ("B", r"\boxed{(B)~\text{or}~(C)}"), ("B", r"\boxed{B \text{ and } C}"), ("B", r"\boxed{(B), (C)}"),
    ("B", r"\boxed{\text{(B) 12 (C) 13}}"), ("B", r"\boxed{B \text{ (or C)}}"), ("B", r"\boxed{B C}"),
    ("B", "Answer: option B or option C"), ("A", "The answer is (A) or (B)"), ("A", "Answer: A or B"),
    ("B", r"\boxed{B, C}"), ("B", r"\boxed{BC}"), ("B", r"\boxed{B/C}"), ("B", r"\boxed{B;C}"),
    # a box inside a box: the inner box used to be the answer
    ("3", r"\boxed{\boxed{3} 4}"), ("3", r"\boxed{4 \boxed{3}}"), ("3", r"\boxed{\boxed{3} \text{ or } 4}"),
    ("3", r"\boxed{4 \text{ or } \boxed{3}}"),
    # an answer tag hidden inside a box used to beat the box
    ("4", r"\boxed{3 <answer>4</answer>}"),
    # "the final answer is $3$ or $4$": only the first math span used to be read
    ("3", "The final answer is $3$ or $4$"), ("3", "The final answer is $3$ or $4$."),
    # already held; kept so they stay held
    ("3", r"\boxed{3 \text{ or } 4}"), ("3", r"\boxed{3, 4}"), ("3", r"\boxed{x=3 \lor x=4}"),
    ("3", r"\boxed{3 \text{ and } 4}"), ("3", r"\boxed{3 \text{ apples and } 4}"), ("3", r"\boxed{\pm 3}"),
    ("3", r"\boxed{x \in \{3, 4\}}"), ("3", r"\boxed{3 \vee 4}"), ("3", r"\boxed{\text{3 or 4}}"),
    ("3", r"\boxed{3\ \text{or}\ 4}"), ("3", r"\boxed{3 \text{ cm or } 4}"), ("3", r"\boxed{\$3 \text{ or } \$4}"),
    ("3", r"\boxed{3 \text{ ways or } 4 \text{ ways}}"), ("3", r"\boxed{3 \cup 4}"), ("3", "<answer>3 or 4</answer>"),
    ("3", "Final answer: 3 or 4"), ("3", "#### 3 or 4"), ("3", r"\boxed{\{3\}}"), ("3", r"\boxed{3 \neq 4}"),
    ("(3,4)", r"\boxed{(3,4)} or \boxed{(4,3)}"), (r"\{3,4\}", r"\boxed{3, 4, 5}"), ("(2,5)", r"\boxed{(5,2)}"),
    ("[2,5]", r"\boxed{\{2,5\}}"), (r"\{2,5\}", r"\boxed{[2,5]}"), ("y = 2x+1", r"\boxed{0 = 0}"),
    ("3", r"\boxed{x = x}"), ("3", r"\boxed{x = 4, y = 3}"), (r"\text{yes}", r"\boxed{\text{yes or no}}"),
]


@pytest.mark.parametrize("reference, completion", SEVERAL_ANSWERS)
def test_several_answers_at_once_earn_nothing(reference, completion):
    assert reward(reference, completion) == 0.0


@pytest.mark.parametrize("reference, completion", [
    ("B", r"\boxed{(B) 12}"), ("B", r"\boxed{B: 12}"), ("B", r"\boxed{B. 12}"), ("B", r"\boxed{\text{Option B}}"),
    ("B", r"\boxed{\textbf{(B)}}"), ("B", r"\boxed{(B) I and II}"), ("B", r"\boxed{(b)}"), ("C", r"\boxed{(A)} so \boxed{(C)}"),
])
def test_one_choice_with_its_option_text_still_counts(reference, completion):
    assert reward(reference, completion) == 1.0


# --- the last answer counts, and only answers count ---------------------------------------------------------

@pytest.mark.parametrize("completion, counted", [
    # a hedge after the box is the later answer (it used to be ignored)
    (r"\boxed{3}. Actually the answer might be 4", "4"),
    (r"\boxed{3}. Actually, the answer could be 4.", "4"),
    (r"\boxed{3}. Actually the answer is 4", "4"),
    # a negated box is no answer (it used to be the last box)
    (r"The answer is \boxed{3}, not \boxed{4}", "3"),
    (r"It is \boxed{3} rather than \boxed{4}.", "3"),
    (r"It isn't \boxed{4}; it is \boxed{3}", "3"),
    # an "answer is" sentence that is prose does not override the box (it used to, scoring 0)
    ("\\boxed{3}\n\nTo verify, the answer is consistent with the constraints.", "3"),
    (r"\boxed{3}. Note the answer must be positive, which it is.", "3"),
    # markers inside a box belong to the box
    (r"\boxed{\text{The answer is } 3}", "3"),
    # bold answer labels (they used to leave `**` in the answer)
    ("**Answer:** 3", "3"), ("**Final Answer:** $3$", "3"), ("**Answer**: 3", "3"),
    # the last of several boxes, tags and markers
    (r"\boxed{3}. Then \boxed{4}", "4"), (r"<answer>4</answer> \boxed{3}", "3"), (r"\boxed{3} <answer>4</answer>", "4"),
    ("Answer: 3\n\nAnswer: 4", "4"), ("#### 3\n#### 4", "4"), (r"\boxed{\boxed{3}}", "3"),
])
def test_the_last_stated_answer_is_the_one_that_counts(completion, counted):
    other = "4" if counted == "3" else "3"
    assert reward(counted, completion) == 1.0
    assert reward(other, completion) == 0.0


def test_a_box_left_open_after_the_answer_is_a_truncated_answer():
    assert extract_answer(r"\boxed{3} so \boxed{") is None
    assert reward("3", r"\boxed{3} so \boxed{") == 0.0


# --- tolerance abuse -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reference, completion", [
    # an integer reference is exact: these used to pass within rel_tol=1e-9
    ("3", r"\boxed{3.0000000001}"), ("1", r"\boxed{0.9999999999}"),
    ("1234567890123", r"\boxed{1234567890123.5}"), ("1234567890124", r"\boxed{1234567890123.5}"),
    ("1234567890123", r"\boxed{1234567890123+\frac{1}{\pi}}"), ("1234567890124", r"\boxed{1234567890123+\frac{1}{\pi}}"),
    ("10^{100}", r"\boxed{10^{100}+\frac{1}{2}}"), ("10^{100}", r"\boxed{10^{100}+\pi}"),
    ("2", r"\boxed{2 + 10^{-20} i}"), ("3", r"\boxed{3 + 10^{-20} i}"), ("3", r"\boxed{3 + 10^{-12} x}"),
    # already held
    ("0", r"\boxed{10^{-20}}"), ("0", r"\boxed{1e-20}"), ("0", r"\boxed{e^{-1000}}"),
    ("2432902008176640000", r"\boxed{2.43290200818e18}"), ("10^{100}", r"\boxed{10^{100}+1}"),
])
def test_near_misses_of_integers_score_zero(reference, completion):
    assert reward(reference, completion) == 0.0


@pytest.mark.parametrize("reference, completion", [
    ("3", r"\boxed{\frac{\ln 8}{\ln 2}}"), ("2432902008176640000", r"\boxed{20!}"), ("1", r"\boxed{\sin^2 x + \cos^2 x}"),
    ("1", r"\boxed{e^{2\pi i}}"), ("4", r"\boxed{\sqrt{2}\sqrt{8}}"), ("2", r"\boxed{\frac{x^2-4}{x-2} - x}"),
    ("391", r"\boxed{17 \times 23}"), ("1024", r"\boxed{2^{10} + 0}"), ("120", r"\boxed{\binom{10}{3}}"),
])
def test_an_integer_reference_wants_the_number_not_an_expression_for_it(reference, completion):
    """Restating the computation (`17 \\times 23` for 391) is not doing it: a policy would learn to stop there."""
    result = graded(reference, completion)
    assert result.reward == 0.0 and result.details["reason"] == "an expression for the number, not the number"


@pytest.mark.parametrize("reference, completion", [
    ("3", r"\boxed{3.000}"), ("1000", r"\boxed{1e3}"), ("3", r"\boxed{x = 3}"), ("5", r"\boxed{(5)}"),
    (r"\frac{\sqrt{2}}{2}", r"\boxed{\frac{1}{\sqrt{2}}}"), ("3.5", r"\boxed{\frac{7}{2}}"),
    (r"\frac{1}{3}", r"\boxed{0.3333333333333}"), (r"\sqrt{2}", r"\boxed{1.41421356237}"),
])
def test_exact_and_close_enough_answers_still_score_one(reference, completion):
    assert reward(reference, completion) == 1.0


def test_integer_references_ignore_a_loose_tolerance_but_others_use_it():
    loose = MathSpec(rel_tol=0.01)
    assert reward("100", r"\boxed{100.5}", loose) == 0.0
    assert reward("100", r"\boxed{100 + \frac{1}{\pi}}", loose) == 0.0
    assert reward(r"\pi", r"\boxed{3.14}", loose) == 1.0
    absolute = MathSpec(abs_tol=0.5)
    assert reward("100", r"\boxed{100.4}", absolute) == 1.0 and reward("100", r"\boxed{100.6}", absolute) == 0.0


# --- expressions equal only at the comparator's sample points -----------------------------------------------

def _vanishing_at(points: list, x: sympy.Symbol) -> str:
    return "".join(f"({x.name} - ({sympy.Rational(p)}))" for p in points)


def test_a_polynomial_vanishing_at_the_honest_sample_points_is_caught():
    x = sympy.Symbol("x")
    honest = sample_points(2 * x, 2 * x, [x])  # where `2x` against `2x` would be checked
    trap = _vanishing_at([sign * point[x] for point in honest for sign in (1, -1)], x)
    assert reward("2x", rf"\boxed{{2x + {trap}}}") == 0.0


@pytest.mark.parametrize("reference, completion", [
    # sin(2^N pi x) is 0 at every binary float x with fewer than N bits: these used to score 1
    ("2x", r"\boxed{2x + \sin(2^{200}\pi x)}"), ("2x", r"\boxed{2x + \sin(10^{100}\pi x)}"),
    ("2x", r"\boxed{2x + \cos(2^{200}\pi x) - 1}"), ("3", r"\boxed{3 + \sin(2^{200}\pi x)}"),
    ("2x", r"\boxed{2x + \tan(2^{400}\pi x)}"), ("2x", r"\boxed{2x + \sin(2^{50} \cdot 5^{50} \pi x)}"),
    # already held
    ("2x", r"\boxed{2x + \sin(\pi x)}"), ("3", r"\boxed{3 + \sin(\pi n)}"), ("3", r"\boxed{x}"), ("x", r"\boxed{3}"),
    ("x", r"\boxed{|x|}"), (r"\sqrt{x^2}", r"\boxed{x}"), ("2x", r"\boxed{2y}"),
])
def test_expressions_equal_only_at_special_points_score_zero(reference, completion):
    assert reward(reference, completion) == 0.0


def test_sample_points_depend_on_both_sides_and_are_reproducible():
    x = sympy.Symbol("x")
    first = sample_points(2 * x, 2 * x + 1, [x])
    assert first == sample_points(2 * x, 2 * x + 1, [x])
    assert first != sample_points(2 * x, 2 * x + 2, [x])


# --- undefined values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("reference, completion", [
    ("0", r"\boxed{\log_{0} 3}"), ("0", r"\boxed{\frac{1}{\infty}}"), ("0", r"\boxed{\frac{x}{\infty}}"),
    ("3", r"\boxed{\log_{1} 3}"), ("0", r"\boxed{\frac{0}{0}}"), ("0", r"\boxed{\infty - \infty}"),
    ("1", r"\boxed{1^\infty}"), ("1", r"\boxed{0^0}"), ("3", r"\boxed{nan}"), ("3", r"\boxed{zoo}"),
    ("3", r"\boxed{\infty}"), (r"\infty", r"\boxed{-\infty}"),
])
def test_undefined_values_score_zero(reference, completion):
    assert reward(reference, completion) == 0.0


# --- unicode ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reference, completion", [
    # each of these used to be unparseable text, scoring 0
    ("-3", "\\boxed{\u22123}"), ("-3", "\\boxed{\ufe633}"), ("9/4", r"\boxed{(3/2)²}"), ("x^2", r"\boxed{x²}"),
    ("0.001", r"\boxed{10⁻³}"), ("2.5", r"\boxed{2½}"), (r"\sqrt{2}", r"\boxed{√2}"), (r"\sqrt{12}", r"\boxed{√12}"),
    (r"\pi", r"\boxed{π}"), (r"\infty", r"\boxed{∞}"), ("6x", r"\boxed{2×3x}"), ("6x", r"\boxed{2·3x}"),
    ("2/3", r"\boxed{2÷3}"), ("3", "\\boxed{3\u200b}"), ("3", "\\boxed{\u200b3}"), ("3", "\\boxed{3\ufeff}"),
    ("(1,2)", "\\boxed{（1，2）}"), ("A", "\\boxed{Ａ}"), ("3", r"\boxed{３}"),
])
def test_unicode_forms_of_correct_answers_score_one(reference, completion):
    assert reward(reference, completion) == 1.0


@pytest.mark.parametrize("reference, completion", [
    ("A", "\\boxed{\u0410}"),  # Cyrillic A
    ("3", "\\boxed{3 o\u200br 4}"), ("3", "\\boxed{3 \\text{ or }\u200b 4}"), ("3", r"\boxed{3²}"),
    ("-3", r"\boxed{3}"), ("3", "\\boxed{\u22123}"),
])
def test_unicode_lookalikes_do_not_fool_the_grader(reference, completion):
    assert reward(reference, completion) == 0.0


# --- decided notation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("reference, completion, expected", [
    # percent is a unit, except against a proportion (|reference| < 1), where it is the value
    ("0.5", r"\boxed{50\%}", 1.0), ("50", r"\boxed{50\%}", 1.0), (r"50\%", r"\boxed{50}", 1.0),
    (r"50\%", r"\boxed{0.5}", 0.0), ("0.5", r"\boxed{50}", 0.0), (r"50\%", r"\boxed{5}", 0.0),
    ("3", r"\boxed{300\%}", 0.0), ("3", r"\boxed{0.03}", 0.0), ("50", r"\boxed{5000\%}", 0.0),
    ("0.5", r"\boxed{0.5\%}", 0.0), (r"50\%", r"\boxed{50\%}", 1.0), ("1", r"\boxed{100\%}", 0.0),
    # degrees are notation for the number
    (r"30^\circ", r"\boxed{30}", 1.0), ("30", r"\boxed{30^\circ}", 1.0), ("30", r"\boxed{31^\circ}", 0.0),
    # one-item brackets are grouping; a one-item set is a set
    ("3", r"\boxed{(3)}", 1.0), ("3", r"\boxed{[3]}", 1.0), ("3", r"\boxed{\{3\}}", 0.0),
    # numbers are written as numbers; text answers compare as text
    ("3", r"\boxed{\text{three}}", 1.0), ("3", r"\boxed{\text{3}}", 1.0), (r"\text{yes}", r"\boxed{Yes}", 1.0),
    # equations: the same line in any form; a bare right side when the variable is the question's
    ("y = 2x+1", r"\boxed{y - 2x = 1}", 1.0), ("y = 2x+1", r"\boxed{2y = 4x + 2}", 1.0),
    ("y = 2x+1", r"\boxed{2x+1}", 1.0), ("y = 2x+1", r"\boxed{y = 2x + 2}", 0.0),
    # intervals and inequalities
    ("[2,5]", r"\boxed{2 \le x \le 5}", 1.0), ("[2,5]", r"\boxed{2 < x \le 5}", 0.0),
    (r"\pm 3", r"\boxed{3, -3}", 1.0), (r"\pm 3", r"\boxed{3}", 0.0),
])
def test_decided_notation(reference, completion, expected):
    assert reward(reference, completion) == expected


# --- odd reference formats still match their correct answers -----------------------------------------------

@pytest.mark.parametrize("reference, completion", [
    ("#### 1,234", r"\boxed{1234}"), ("Janet has 1,000 + 234 eggs.\n#### 1,234", "So she has 1,234 eggs."),
    (r"\$5.00", r"\boxed{5}"), (r"\$5.00", r"\boxed{\$5}"), (r"\frac12", r"\boxed{0.5}"), (".5", r"\boxed{1/2}"),
    ("5.", r"\boxed{5}"), ("1e3", r"\boxed{1000}"), (r"1.5\times10^{3}", r"\boxed{1500}"),
    (r"The answer is $\boxed{\frac{3}{4}}$.", r"\boxed{0.75}"), (r"$\dfrac{3}{4}$", r"\boxed{\frac34}"),
    (r"\text{(C)}", r"\boxed{C}"), ("-0", r"\boxed{0}"), ("+7", r"\boxed{7}"), (r"5\%", r"\boxed{5}"),
])
def test_odd_reference_formats_match_their_answers(reference, completion):
    assert reward(reference, completion) == 1.0


# --- hostile input: returns a 0 quickly (guards, not the pool's kill) --------------------------------------

@pytest.mark.parametrize("completion", [
    r"\boxed{\binom{-99999}{99999}}", r"\boxed{\binom{99999.5}{50000}}",  # took 9 s and 6 s
    r"\boxed{\binom{x}{50000}}",  # a product of 50,000 factors at each exact sample point
])
def test_explosive_binomials_are_refused(completion):
    result = graded("1", completion)
    assert result.reward == 0.0 and result.details["reason"].startswith("answer too large")


@pytest.mark.parametrize("completion", [
    "Answer: $$ $$. " * 7000,  # every marker was read to its sentence end: 1.2 s
    "Answer:. " * 11000,
    "The answer is not clear. " * 4000,
])
def test_marker_spam_earns_nothing(completion):
    assert reward("1", completion) == 0.0


@pytest.mark.parametrize("prompt, completion, reference, earned", [
    # copying the question's expression equals the reference without solving it (ZeroEval, gemini-1.5-pro)
    (r"Compute $\tan(2\arctan\frac15-\frac\pi4)$.", r"\boxed{\tan(2\arctan\frac15-\frac\pi4) \approx -0.4118}",
     r"-\frac{7}{17}", 0.0),
    (r"Simplify $\sqrt{8}$.", r"\boxed{\sqrt{8}}", r"2\sqrt{2}", 0.0),
    (r"Expand $(x+1)^2$.", r"\boxed{(x+1)^2}", "x^2+2x+1", 0.0),
    ("Compute $2^8$.", r"\boxed{2^8}", "256", 0.0),
    # the solved forms earn; a number or a name may appear in the prompt; so may the reference among options
    (r"Compute $\tan(2\arctan\frac15-\frac\pi4)$.", r"\boxed{-\frac{7}{17}}", r"-\frac{7}{17}", 1.0),
    (r"Simplify $\sqrt{8}$.", r"\boxed{2\sqrt{2}}", r"2\sqrt{2}", 1.0),
    ("Let f(x) = x^2 + 1. Find f(x) - 1.", r"\boxed{x^2}", "x^2", 1.0),
    ("Which equals (x+1)^2: x^2+2x+1 or x^2+1?", r"\boxed{x^2+2x+1}", "x^2+2x+1", 1.0),
    ("How many subsets has a set of 8 elements?", r"\boxed{2^8}", "256", 1.0),
])
def test_an_answer_that_restates_the_question_earns_nothing(prompt, completion, reference, earned):
    result = score(SPEC, Sample(prompt=prompt, completion=completion, reference=reference))
    assert result.reward == earned, result.details


@pytest.mark.parametrize("prompt, completion, reference", [
    # abstaining prose is no choice letter (MMLU-Pro has options A-J)
    ("", "The answer is I don't know", "I"), ("", "Answer: A priori it cannot be determined.", "A"),
    ("", "The answer is A lot.", "A"), ("", "The answer is E.g. 5", "E"),
    # a rounding counts only where one is asked: not for "as a decimal", not for an integer written as a float
    ("What is the probability of heads? Express your answer as a decimal.", r"\boxed{0.47 \approx 0.5}", "0.5"),
    ("", r"The answer is $11.96 \approx 12.0$.", "12.0"),
    # the question's expression re-spelled, a division or a scaling left to do for an integer reference
    ("What is $2^{10}$?", r"\boxed{2^10}", "1024"), (r"Simplify $\sqrt{8}$.", r"\boxed{\sqrt8}", r"2\sqrt{2}"),
    (r"What is $1001 \div 7$?", r"\boxed{\frac{1001}{7}}", "143"), ("", r"\boxed{3.91 \times 10^2}", "391"),
    ("", r"\boxed{\frac{782}{2}}", "391"),
])
def test_red_team_answers_that_do_not_do_the_work_earn_nothing(prompt, completion, reference):
    assert score(SPEC, Sample(prompt=prompt, completion=completion, reference=reference)).reward == 0.0


@pytest.mark.parametrize("completion", [
    " " * 20_000 + " 5", "\n" * 20_000 + " 5", "$" * 50_000 + "5", r"\boxed{5}" + " \n" * 10_000,
    "I am confident" + " " * 20_000 + "5%", "confidence is " + "$" * 50_000 + "5%", "100% " * 10_000 + " sure",
])
def test_long_runs_cost_the_extractor_linear_time(completion):
    """A guard against backtracking in the extractor's patterns (the confidence pattern once took 158 s on 50k `$`)."""
    import time

    start = time.process_time()
    score(SPEC, Sample(completion=completion, reference="5"))
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("reference, completion, earned", [
    # a decimal answer no finer than a short reference is compared exactly: rel_tol cannot pass a wrong last digit
    ("123456789.1", r"\boxed{123456789.2}", 0.0), ("12345678.91", r"\boxed{12345678.90}", 0.0),
    ("123456789.1", r"\boxed{1.23456789e8}", 0.0), ("1000000000000.5", r"\boxed{1000000000001.0}", 0.0),
    # rel_tol still forgives long expansions on either side
    ("0.3", r"\boxed{0.30000000000000004}", 1.0), ("0.3333333333333333", r"\boxed{\frac{1}{3}}", 1.0),
    ("0.1000000000001", r"\boxed{0.1}", 1.0),
])
def test_relative_tolerance_is_for_long_expansions_only(reference, completion, earned):
    assert reward(reference, completion) == earned
