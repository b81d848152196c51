"""The multi grader: the formula parser's accept/reject tables, spec validation, and real end-to-end runs."""

import math

import httpx
import pytest
from pydantic import ValidationError

from rewards.graders import parse_spec
from rewards.graders.formula import parse_formula
from rewards.types import Sample
from tests.procs import free_port, launch

NAMES = ("acc", "fmt", "len")
VALUES = {"acc": 1.0, "fmt": 0.5, "len": 0.25}


@pytest.mark.parametrize(("formula", "value"), [
    ("acc", 1.0),
    ("0.9*acc + 0.1*fmt", 0.95),
    ("acc - fmt", 0.5),
    ("-fmt + +acc", 0.5),
    ("acc / fmt", 2.0),
    ("(acc + fmt) * len", 0.375),
    ("min(acc, fmt, len)", 0.25),
    ("max(fmt, len)", 0.5),
    ("min(acc)", 1.0),
    ("max(0, min(1, acc + fmt))", 1.0),
    ("  acc * 1e6 / 1000000 ", 1.0),
    ("3", 3.0),
])
def test_formula_accepts_and_evaluates(formula, value):
    assert parse_formula(formula, NAMES).evaluate(VALUES) == pytest.approx(value)


def test_formula_reports_the_names_it_reads():
    assert parse_formula("0.5*acc + max(fmt, 0)", NAMES).names == {"acc", "fmt"}


@pytest.mark.parametrize(("formula", "why"), [
    ("acc ** 2", "not allowed"),
    ("acc.real", "not allowed"),
    ("acc[0]", "not allowed"),
    ("__import__('os').system('true')", "not allowed"),
    ("round(acc)", "not allowed"),
    ("abs(acc, fmt)", "not allowed"),
    ("min()", "not allowed"),
    ("min(*acc)", "not allowed"),
    ("max(acc, key=fmt)", "not allowed"),
    ("(lambda: 1)()", "not allowed"),
    ("acc if fmt else len", "not allowed"),
    ("acc > fmt", "not allowed"),
    ("acc and fmt", "not allowed"),
    ("acc // fmt", "not allowed"),
    ("acc % fmt", "not allowed"),
    ("[acc]", "not allowed"),
    ("'acc'", "not allowed"),
    ("True", "not allowed"),
    ("1j", "not allowed"),
    ("(x := 1)", "not allowed"),
    ("other", "unknown name 'other'"),
    ("min", "unknown name 'min'"),
    ("1e7 * acc", "outside"),
    ("1e999", "outside"),
    ("acc; fmt", "does not parse"),
    ("acc +", "does not parse"),
    ("", "does not parse"),
    ("acc\nfmt", "does not parse"),
    ("(" * 500 + "acc" + ")" * 500, "does not parse"),
    ("-" * 100 + "acc", "deeper"),
    ("+".join(["acc"] * 1000), "longer than"),
    ("9" * 1999, "outside"),
])
def test_formula_rejects(formula, why):
    with pytest.raises(ValueError, match="formula|not allowed|unknown name|outside") as info:
        parse_formula(formula, NAMES)
    assert why in str(info.value)


def test_formula_division_by_zero_raises_for_the_grader_to_handle():
    with pytest.raises(ZeroDivisionError):
        parse_formula("acc / (fmt - 0.5)", NAMES).evaluate(VALUES)


FMT = {"type": "format", "checks": [{"kind": "regex", "pattern": r"\d"}]}
ACC = {"type": "math"}


@pytest.mark.parametrize(("spec", "why"), [
    ({"graders": {"acc": ACC}, "formula": "acc + fmt"}, "unknown name 'fmt'"),
    ({"graders": {"acc": ACC, "fmt": FMT}, "formula": "acc"}, "not used in the formula: ['fmt']"),
    ({"graders": {}, "formula": "1"}, "at least 1"),
    ({"graders": {"min": ACC}, "formula": "min(min, 1)"}, "must be an identifier"),
    ({"graders": {"a-b": ACC}, "formula": "1"}, "must be an identifier"),
    ({"graders": {"class": ACC}, "formula": "1"}, "must be an identifier"),
    ({"graders": {"acc": ACC}, "formula": "acc ** 2"}, "not allowed"),
    ({"graders": {"acc": {"type": "nope"}}, "formula": "acc"}, "type"),
    ({"graders": {"acc": {"type": "format", "checks": [{"kind": "regex", "pattern": "("}]}}, "formula": "acc"},
     "invalid regex"),
    ({"graders": {"acc": ACC}, "formula": "acc", "weights": [1]}, "Extra inputs"),
])
def test_spec_validation(spec, why):
    with pytest.raises(ValidationError) as info:
        parse_spec({"type": "multi", **spec})
    assert why in str(info.value)


def test_spec_round_trips_with_nested_multis():
    inner = {"type": "multi", "graders": {"fmt": FMT}, "formula": "fmt"}
    spec = parse_spec({"type": "multi", "graders": {"acc": ACC, "inner": inner}, "formula": "acc * inner"})
    assert parse_spec(spec.model_dump()) == spec
    assert parse_spec(spec.model_dump(mode="json")) == spec


async def test_weighted_combination_with_sub_scores_in_details(service):
    spec = {"type": "multi", "graders": {"acc": ACC, "fmt": FMT}, "formula": "0.75*acc + 0.25*fmt"}
    samples = [Sample(completion="4", reference="4"), Sample(completion="5", reference="4"),
               Sample(completion="four", reference="4")]
    scores = await service.score_batch(spec, samples)
    assert [s.reward for s in scores] == pytest.approx([1.0, 0.25, 0.0])
    assert all(s.error is None for s in scores)
    subs = scores[1].details["graders"]
    assert subs["acc"]["reward"] == 0.0 and subs["fmt"]["reward"] == 1.0
    assert subs["fmt"]["details"]["checks"][0]["kind"] == "regex"


async def test_nested_multi_and_min_max(service):
    inner = {"type": "multi", "graders": {"fmt": FMT}, "formula": "max(0, 2*fmt - 1)"}
    spec = {"type": "multi", "graders": {"acc": ACC, "inner": inner}, "formula": "min(acc, inner)"}
    scores = await service.score_batch(spec, [Sample(completion="4", reference="4"),
                                              Sample(completion="x", reference="x")])
    assert [s.reward for s in scores] == [1.0, 0.0]
    assert scores[0].details["graders"]["inner"]["details"]["graders"]["fmt"]["reward"] == 1.0


async def test_division_by_zero_scores_zero_with_reason(service):
    spec = {"type": "multi", "graders": {"acc": ACC, "fmt": FMT}, "formula": "fmt / acc"}
    scores = await service.score_batch(spec, [Sample(completion="5", reference="4"),
                                              Sample(completion="4", reference="4")])
    assert scores[0].reward == 0.0 and "division by zero" in scores[0].details["reason"]
    assert scores[0].error is None
    assert scores[0].details["graders"]["fmt"]["reward"] == 1.0
    assert scores[1].reward == 1.0 and "reason" not in scores[1].details


async def test_non_finite_result_scores_zero(service):
    big = "(" + "*".join(["1000000"] * 10) + ")"  # 1e60, within the nesting limit
    spec = {"type": "multi", "graders": {"acc": ACC}, "formula": "*".join(["acc", *[big] * 6])}
    (score,) = await service.score_batch(spec, [Sample(completion="4", reference="4")])
    assert score.reward == 0.0 and "inf" in score.details["reason"]
    assert math.isfinite(score.reward)


async def test_a_timed_out_sub_grader_is_a_real_zero(service):
    slow = {"type": "format", "timeout_s": 0.2, "checks": [{"kind": "regex", "pattern": r"(x+x+)+y"}]}
    spec = {"type": "multi", "graders": {"acc": ACC, "slow": slow}, "formula": "0.5*acc + 0.5*slow"}
    (score,) = await service.score_batch(spec, [Sample(completion="x" * 30_000, reference="x" * 30_000)])
    assert score.error is None
    assert score.details["graders"]["slow"]["details"]["timeout"] is True
    assert score.reward == pytest.approx(0.5 * score.details["graders"]["acc"]["reward"])


async def test_the_multi_timeout_is_the_default_budget_of_its_sub_graders(service):
    slow = {"type": "format", "checks": [{"kind": "regex", "pattern": r"(x+x+)+y"}]}
    spec = {"type": "multi", "timeout_s": 0.2, "graders": {"slow": slow, "own": {**slow, "timeout_s": 3}},
            "formula": "slow + own"}
    (score,) = await service.score_batch(spec, [Sample(completion="x" * 30_000)])
    subs = score.details["graders"]
    assert subs["slow"]["details"] == {"timeout": True, "timeout_s": 0.2}
    assert "took over" in subs["own"]["details"]["checks"][0]["reason"]  # its own 3 s outlast the regex limit


async def test_a_sub_grader_error_is_carried_not_turned_into_a_number(service):
    unreachable = {"type": "judge", "model": "m", "base_url": f"http://127.0.0.1:{free_port()}/v1", "retries": 0}
    spec = {"type": "multi", "graders": {"acc": ACC, "judge": unreachable}, "formula": "0.5*acc + 0.5*judge"}
    scores = await service.score_batch(spec, [Sample(completion="4", reference="4")] * 2)
    for score in scores:
        assert score.error is not None and score.error.startswith("judge: ")
        assert score.reward == 0.0
        assert score.details["graders"]["acc"]["reward"] == 1.0  # the healthy sub-score is still reported


def test_http_scores_and_rejects_bad_formulas_with_422():
    with launch(["serve", "--workers", "1"], free_port()) as url:
        good = {"type": "multi", "graders": {"acc": ACC, "fmt": FMT}, "formula": "0.9*acc + 0.1*fmt"}
        ok = httpx.post(f"{url}/v1/score/batch", json={"grader": good, "items": [
            {"completion": "7", "reference": "7"}, {"completion": "no", "reference": "7"}]}, timeout=30)
        assert ok.status_code == 200
        assert [r["reward"] for r in ok.json()["results"]] == pytest.approx([1.0, 0.0])
        for formula in ("acc ** 2", "acc", "acc + fmt + other", "__import__('os')", "acc.__class__"):
            bad = httpx.post(f"{url}/v1/score", json={"grader": {**good, "formula": formula},
                                                      "completion": "7"}, timeout=30)
            assert bad.status_code == 422, (formula, bad.text)
            assert "invalid grader spec" in bad.text
