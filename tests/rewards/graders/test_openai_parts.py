"""The parts behind OpenAI's grader objects: templates, the new similarity metrics, the formula's OpenAI functions,
and the rule that tells OpenAI's multi from ours."""

from __future__ import annotations

import math

import pytest

from rewards.graders import parse_spec
from rewards.graders.formula import parse_formula
from rewards.graders.multi import MultiSpec
from rewards.graders.openai.string_check import StringCheckSpec
from rewards.graders.openai.string_check import score as string_check
from rewards.graders.openai.templates import Context, Missing, render
from rewards.graders.openai.text_similarity import OPENAI_METRICS, gleu, meteor, rouge_n
from rewards.types import Sample


def context(completion: str, reference: object = None, **metadata: object) -> Context:
    return Context.of(Sample(completion=completion, reference=reference, metadata=metadata))


def test_templates_fill_sample_and_item_fields_by_dotted_path() -> None:
    ctx = context('{"answer": {"value": 7}, "steps": ["a", "b"]}', reference="7", tags=["x", "y"])
    assert render("{{sample.output_json.answer.value}}", ctx) == "7"
    assert render("{{ sample.output_json.steps.1 }}|{{item.tags}}|{{item.reference}}", ctx) == 'b|["x","y"]|7'
    assert render("{{sample.output_text}}", ctx).startswith('{"answer"')


def test_templates_fill_in_one_pass_so_a_completion_cannot_reach_other_fields() -> None:
    ctx = context("{{item.secret}}", secret="s3cret")
    assert render("{{sample.output_text}}", ctx) == "{{item.secret}}"


def test_the_samples_reference_is_item_reference_over_a_metadata_field_of_that_name() -> None:
    sample = Sample(completion="x", reference="sample's", metadata={"reference": "metadata's", "id": 3})
    assert render("{{item.reference}} {{item.id}}", Context.of(sample)) == "sample's 3"


def test_missing_values_blame_the_model_or_the_request() -> None:
    with pytest.raises(Missing) as not_json:
        render("{{sample.output_json.name}}", context("plain text"))
    assert not_json.value.model_output and not_json.value.score().error is None
    with pytest.raises(Missing) as no_field:
        render("{{sample.output_json.name}}", context('{"nam": 1}'))
    assert no_field.value.model_output
    with pytest.raises(Missing) as no_item_field:
        render("{{item.label}}", context("x"))
    assert not no_item_field.value.model_output and no_item_field.value.score().error


def test_string_check_against_an_empty_reference_never_passes_like() -> None:
    spec = StringCheckSpec(input="{{sample.output_text}}", reference="{{item.label}}", operation="like")
    assert string_check(spec, Sample(completion="anything", metadata={"label": ""})).reward == 0.0
    eq = spec.model_copy(update={"operation": "eq"})
    assert string_check(eq, Sample(completion=" a", metadata={"label": "a"})).reward == 0.0  # unstripped, as OpenAI


def test_rouge_n_gleu_and_meteor_on_known_cases() -> None:
    assert rouge_n(1)("the cat sat", "the cat sat") == 1.0
    assert rouge_n(2)("the cat sat", "the cat ran") == pytest.approx(0.5)  # 1 of 2 bigrams each way
    assert rouge_n(5)("a b c", "a b c") == 0.0  # no 5-grams at all
    # 4 shared n-grams (a, b, c, "a b") out of 6 in the hypothesis and 7 in the reference
    assert gleu("a b c", "a b d c") == pytest.approx(min(4 / 6, 4 / 10))
    assert meteor("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(5 / 6 * (1 - 0.5 * (2 / 5) ** 3))
    assert meteor("mat the on", "the cat sat on the mat") < meteor("the cat sat", "the cat sat on the mat")


@pytest.mark.parametrize("metric", sorted(OPENAI_METRICS))
def test_every_metric_gives_one_for_equal_texts_and_little_for_disjoint_ones(metric: str) -> None:
    text = "aaa bbb ccc ddd eee fff"
    assert OPENAI_METRICS[metric](text, text) == pytest.approx(1.0, abs=1e-2)  # METEOR keeps a tiny penalty
    assert OPENAI_METRICS[metric](text, "uuu vvv www xxx yyy zzz") < 0.25  # fuzzy matches the spaces


@pytest.mark.parametrize(("formula", "value"), [
    ("a ^ 2", 2.25), ("2 ^ a ^ 2", 2 ** 2.25), ("2 * a ^ 2 + 1", 5.5), ("-a ^ 2", -2.25), ("abs(-a)", 1.5), ("floor(a) + ceil(a)", 3.0), ("sqrt(4)", 2.0),
    ("log(exp(a))", 1.5), ("min(a, 1, 2)", 1.0),
])
def test_formula_knows_openais_operators_and_functions(formula: str, value: float) -> None:
    assert parse_formula(formula, ["a"]).evaluate({"a": 1.5}) == pytest.approx(value)


@pytest.mark.parametrize("formula", ["sqrt(a - 2)", "log(0)", "exp(1000)", "(0 - 8) ^ (1 / 3)", "10 ^ 1000"])
def test_formula_outside_a_domain_is_not_finite_instead_of_raising(formula: str) -> None:
    assert not math.isfinite(parse_formula(formula, ["a"]).evaluate({"a": 1.5}))


@pytest.mark.parametrize("formula", ["abs(a, a)", "a ** 2", "sqrt()"])
def test_formula_refuses_other_arities_and_pythons_power(formula: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        parse_formula(formula, ["a"])


def test_openais_multi_and_ours_are_told_apart_by_shape_and_nest_in_each_other() -> None:
    check = {"type": "string_check", "input": "{{sample.output_text}}", "reference": "{{item.reference}}",
             "operation": "eq"}
    ours = parse_spec({"type": "multi", "graders": {"acc": {"type": "math"}, "exact": check}, "formula": "acc^exact"})
    theirs = parse_spec({"type": "multi", "name": "n", "graders": {"exact": check}, "calculate_output": "exact"})
    assert isinstance(ours, MultiSpec) and isinstance(theirs, MultiSpec)
    assert theirs.formula == "exact" and isinstance(theirs.graders["exact"], StringCheckSpec)
    with pytest.raises(ValueError, match="calculate_output"):
        parse_spec({"type": "multi", "graders": {"exact": check}, "calculate_output": "exact", "formula": "exact"})
