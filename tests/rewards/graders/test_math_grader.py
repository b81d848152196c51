"""The math grader end to end: completions in, rewards and details out; reward hacking; hostile input;
the worker pool's timeout on pathological samples; and the HTTP route."""

import asyncio

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rewards.graders import parse_spec
from rewards.graders.math import MathGrader, MathSpec, parse_reference, reference_text, score
from rewards.mathgrade.normalize import normalize
from rewards.pool import WorkerPool
from rewards.types import Sample
from tests.procs import free_port, launch

SPEC = MathSpec()
REASONING = "Let us think step by step. We add the parts and simplify carefully. "


def reward(reference, completion, spec=SPEC) -> float:
    result = score(spec, Sample(completion=completion, reference=reference))
    assert result.error is None
    return result.reward


@pytest.mark.parametrize("reference, completion", [
    ("73", "so the total is **73**"),
    (r"\frac{\pi}{2}", r"\boxed{pi/2}"),
    (r"\frac{1}{\sqrt{n}}", r"\boxed{\sqrt{1/n}}"),
    (r"\frac{1}{2}", r"The final answer is \frac{1}{2}"),
    (r"$\frac{1}{2}$", r"\boxed{0.5}"),
    (r"\boxed{\frac{1}{2}}", r"\boxed{\frac12}"),
    ("C", r"\boxed{(C)}"),
    ("(C)", "The answer is C"),
    ("C", "Answer: (c) 42"),
    ("B", "Answer: option B"),
    ("42", REASONING + r"$\boxed{42}$"),
    ("42", REASONING + "<answer>42</answer>"),
    ("42", REASONING + "Final Answer: 42."),
    ("42", REASONING + "we get 40 + 2 = 42"),
    ("1,234", r"\boxed{1234}"),
    ("3", r"\boxed{x = 3}"),
    (r"\{1, 2\}", r"\boxed{x = 1 \text{ or } x = 2}"),
    (r"(3, \infty)", r"\boxed{x > 3}"),
    ("5", r"\boxed{5\text{ cm}}"),
    ("12.50", r"\boxed{\$12.50}"),
    ("30", r"\boxed{30^\circ}"),
    (r"50\%", r"\boxed{50}"),
    ("0.25", r"\boxed{25\%}"),
    (r"\text{Monday}", r"\boxed{\textbf{Monday}}"),
    (2, r"\boxed{2}"),
    (0.5, r"\boxed{\frac{1}{2}}"),
    ("14 - i", r"\boxed{14-i}"),
    (r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}", r"\boxed{\begin{bmatrix}1&0\\0&1\end{bmatrix}}"),
])
def test_correct_answers_score_one(reference, completion):
    assert reward(reference, completion) == 1.0


@pytest.mark.parametrize("reference, completion", [
    (r"\frac{1}{2004!}", r"\boxed{\frac{1}{2006!}}"),
    (r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{98}}}"),
    ("1-1/e", r"\boxed{1+\frac{1}{e}}"),
    ("[2,5)", r"\boxed{(2,5]}"),
    (r"4\sqrt{2}", r"\boxed{4}"),
    ("16386.20", r"\boxed{16386.21}"),
    ("0.000001", r"\boxed{0.0000012}"),
    ("50", r"\boxed{0.5}"),
    ("1/3", r"\boxed{0.333}"),
    (r"\pi", r"\boxed{3.14}"),
    ("42", REASONING + r"\boxed{41}"),
    ("42", "the answer 42 appears in my reasoning, but \\boxed{41}"),
    ("42", r"\boxed{42} wait, no: \boxed{43}"),
    ("C", r"\boxed{D}"),
])
def test_wrong_answers_score_zero(reference, completion):
    assert reward(reference, completion) == 0.0


@pytest.mark.parametrize("completion", [
    r"\boxed{1} \boxed{2}",
    r"\boxed{2} \boxed{}",
    r"\boxed{1 or 2}",
    r"\boxed{1, 2}",
    r"\boxed{\{1,2\}}",
    r"\boxed{x=1, x=2}",
    r"\boxed{\pm 1}",
    r"\boxed{}",
    r"\boxed{",
    "I think it is 1. Actually the final answer is 2.",
    "<answer>1 or 2</answer>",
    r"\boxed{x \ge 1}",
    r"\boxed{" + "1" * 5000 + "}",
    r"\boxed{\text{1}\text{1}}",
    "$" * 1000,
    "\\boxed{" * 300 + "1",
])
def test_several_answers_at_once_earn_nothing(completion):
    assert reward("1", completion) == 0.0


@pytest.mark.parametrize("completion", [
    r"\boxed{\frac{1}{0}}", r"\boxed{(10^{10})!}", r"\boxed{9^{9^{9^9}}}", "\x00" * 100, "", "   ",
    r"\boxed{\left(}", r"\boxed{)}", r"\boxed{\sqrt{-}}", r"\boxed{__import__('os').system('true')}",
    r"\boxed{\begin{pmatrix}1&2\\3\end{pmatrix}}", r"\boxed{0^{-1}}", r"\boxed{\log 0}", r"\boxed{x^{x^{x^{x^x}}}}",
])
def test_hostile_answers_score_zero(completion):
    assert reward("1", completion) == 0.0


def test_details_say_what_was_extracted_parsed_and_decided():
    good = score(SPEC, Sample(completion=r"so \boxed{\frac{2}{4}}", reference="0.5"))
    assert good.reward == 1.0
    assert good.details["answer"] == r"\frac{2}{4}" and good.details["method"] == "boxed"
    assert good.details["stage"] == "number" and "Fraction(1, 2)" in good.details["parsed_answer"]
    same = score(SPEC, Sample(completion=r"\boxed{0.5}", reference="0.5"))
    assert same.details["stage"] == "string"
    bad = score(SPEC, Sample(completion=r"\boxed{3}", reference="0.5"))
    assert bad.details["reason"] == "not equal"
    none = score(SPEC, Sample(completion="no idea", reference="0.5"))
    assert none.details["reason"] == "no answer found"
    empty = score(SPEC, Sample(completion=r"\boxed{}", reference="0.5"))
    assert empty.details["reason"] == "empty answer"
    big = score(SPEC, Sample(completion=r"\boxed{9^{9^{9^9}}}", reference="0.5"))
    assert big.details["reason"].startswith("answer too large")
    missing = score(SPEC, Sample(completion=r"\boxed{1}"))
    assert missing.reward == 0.0 and missing.details["reason"] == "no reference answer"


def test_reference_forms():
    assert reference_text(r"The answer is \boxed{5}.") == "5"
    assert reference_text("$5$") == "$5$" and reward("$5$", "5") == 1.0
    assert reference_text(3) == "3"
    assert reference_text("Natalia sold 48/2 = 24 clips.\n#### 72") == "72"
    assert reward("She sold 48 + 24 = 72 clips.\n#### 72", "So 72 in all.\n#### 72") == 1.0


def test_reference_parse_is_cached():
    parse_reference.cache_clear()
    for _ in range(5):
        score(SPEC, Sample(completion=r"\boxed{2}", reference=r"\frac{4}{2}"))
    info = parse_reference.cache_info()
    assert info.misses == 1 and info.hits == 4


def test_tolerance_and_bare_number_are_spec_fields():
    loose = parse_spec({"type": "math", "rel_tol": 1e-3})
    assert reward(r"\pi", r"\boxed{3.1416}", loose) == 1.0
    assert reward(r"\pi", r"\boxed{3.1416}") == 0.0
    strict = parse_spec({"type": "math", "bare_number": False})
    assert reward("5", "it is 5", strict) == 0.0 and reward("5", "it is 5") == 1.0
    with pytest.raises(ValidationError):
        parse_spec({"type": "math", "rel_tol": -1})
    with pytest.raises(ValidationError):
        parse_spec({"type": "math", "tolerance": 1})


# --- random and adversarial strings never crash or hang -------------------------------------------------------

LATEX_BITS = st.sampled_from([
    "\\boxed{", "}", "{", "$", "$$", "\\frac", "\\sqrt", "^", "_", "!", "(", ")", "[", "]", "\\{", "\\}", "\\pm",
    "\\infty", "=", "<", "\\le", ",", "x", "9", "0", "1/", "e", "i", "\\pi", "\\cup", "**", "\\text{", "\\left(",
    "\\right)", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "\x00", " or ", "Answer:", "<answer>", "%",
    "\\times10^{", "\\circ", "10^{10}", "\\cdot", "-", "+", ".", "'", "|",
])
hostile_text = st.one_of(st.text(max_size=200), st.lists(LATEX_BITS, max_size=40).map("".join))


@settings(max_examples=300, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(completion=hostile_text, reference=hostile_text)
def test_random_strings_never_crash(completion, reference):
    result = score(SPEC, Sample(completion=completion, reference=reference))
    assert result.error is None
    assert result.reward in (0.0, 1.0)


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(answer=st.lists(LATEX_BITS, min_size=1, max_size=30).map("".join))
def test_a_boxed_answer_always_matches_itself(answer):
    result = score(SPEC, Sample(completion=f"\\boxed{{{answer}}}", reference=answer))
    assert result.error is None
    plain = not any(c in answer for c in "{}$") and "answer" not in answer.lower()
    if plain and normalize(answer).text:
        assert result.reward == 1.0, result.details


@settings(max_examples=100, deadline=3000)
@given(a=st.integers(-10**6, 10**6), b=st.integers(1, 10**6))
def test_fractions_compare_exactly(a, b):
    assert reward(f"\\frac{{{a}}}{{{b}}}", f"\\boxed{{{a}/{b}}}") == 1.0
    assert reward(f"\\frac{{{a}}}{{{b}}}", f"\\boxed{{{a + 1}/{b}}}") == 0.0


# --- through a real worker pool ----------------------------------------------------------------------------------

PATHOLOGICAL = [
    r"\boxed{x^{2^{2^{2^{2^{2^{2}}}}}}}",  # a large symbolic exponent, evaluated numerically
    r"\boxed{\sqrt{" * 40 + "2" + "}" * 40 + "}",
]


async def test_pool_times_out_pathological_samples_and_keeps_serving():
    pool = WorkerPool(2, memory_mb=1024)
    await pool.start()
    try:
        grader = MathGrader(MathSpec(timeout_s=0.5), context=_context(pool))
        # honest samples share the pool with a generous budget: a loaded machine must not time them out
        generous = MathGrader(MathSpec(timeout_s=30), context=_context(pool))
        slow = [Sample(completion=_slow_completion(), reference="1")] * 2
        honest = [Sample(completion=rf"\boxed{{{k}}}", reference=str(k)) for k in range(6)]
        slow_scores, honest_scores = await asyncio.gather(grader.grade(slow), generous.grade(honest))
        scores = slow_scores + honest_scores
        assert [s.reward for s in scores] == [0.0, 0.0] + [1.0] * 6
        assert all(s.details.get("timeout") is True for s in scores[:2])
        assert all(s.error is None for s in scores)
        again = await asyncio.gather(generous.grade([Sample(completion=r"\boxed{\sqrt{2}}", reference="sqrt(2)")]),
                                     grader.grade(slow[:1]))
        assert [s.reward for scored in again for s in scored] == [1.0, 0.0]
        assert pool.timeouts == 3
        for completion in PATHOLOGICAL:
            (result,) = await grader.grade([Sample(completion=completion, reference="1")])
            assert result.reward == 0.0 and result.error is None
    finally:
        await pool.close()


def _slow_completion() -> str:
    """Within every size guard, but seconds of work: twelve exact binomials of 40,000 bits each."""
    return r"\boxed{" + "+".join(rf"\binom{{{40_000 + k}}}{{{20_000 + k}}}" for k in range(12)) + "}"


def _context(pool):
    from rewards.graders.base import GraderContext

    return GraderContext(pool=pool, default_timeout_s=2.0)


# --- over HTTP ---------------------------------------------------------------------------------------------------

def test_http_scores_math_and_rejects_bad_specs():
    with launch(["serve", "--workers", "1"], free_port()) as url:
        items = [{"completion": r"so \boxed{\frac{1}{2}}", "reference": "0.5"},
                 {"completion": r"\boxed{3}", "reference": "0.5"},
                 {"completion": r"\boxed{9^{9^{9^9}}}", "reference": "1"}]
        batch = httpx.post(f"{url}/v1/score/batch", json={"grader": {"type": "math"}, "items": items}, timeout=60)
        assert batch.status_code == 200, batch.text
        assert [r["reward"] for r in batch.json()["results"]] == [1.0, 0.0, 0.0]
        one = httpx.post(f"{url}/v1/score", json={"grader": "math", "completion": "**73**", "reference": "73"},
                         timeout=60)
        assert one.status_code == 200 and one.json()["reward"] == 1.0
        bad = httpx.post(f"{url}/v1/score", json={"grader": {"type": "math", "rel_tol": "lots"},
                                                  "completion": "1", "reference": "1"}, timeout=60)
        assert bad.status_code == 422
