"""The format grader: each check both ways, adversarial completions, spec validation, pool and HTTP."""

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rewards.graders import parse_spec
from rewards.graders.format import FormatSpec, score
from rewards.graders.format_checks import bleu_similarity, fuzzy_similarity, rouge_l_similarity
from rewards.types import Sample
from tests.procs import free_port, launch

GOOD = "<think>2 + 2 is 4</think>\n<answer>4</answer>"


def spec_of(*checks: dict, **fields) -> FormatSpec:
    return parse_spec({"type": "format", "checks": list(checks), **fields})


def run(check: dict, completion: str, reference=None) -> dict:
    """The one check's result entry for a completion."""
    result = score(spec_of(check), Sample(completion=completion, reference=reference))
    (entry,) = result.details["checks"]
    assert result.reward == entry["score"]
    return entry


# --- tags -------------------------------------------------------------------------------------------------------

def test_default_spec_is_the_think_answer_check():
    spec = parse_spec({"type": "format"})
    assert score(spec, Sample(completion=GOOD)).reward == 1.0
    assert score(spec, Sample(completion="4")).reward == 0.0


@pytest.mark.parametrize("completion", [
    GOOD,
    "  <think>a</think><answer>b</answer>\n\n",
    "<think>multi\nline</think>\n\n<answer>\nx\n</answer>",
])
def test_tags_accept(completion):
    assert run({"kind": "tags"}, completion)["score"] == 1.0


@pytest.mark.parametrize(("completion", "why"), [
    ("", "exactly once"),
    ("<answer>4</answer>", "<think> must open and close exactly once"),
    ("<think>a</think><answer>4</answer><answer>5</answer>", "found 2 <answer>"),
    ("<think>a</think><answer>4</answer></answer>", "found 1 <answer> and 2 </answer>"),
    ("<think>a<answer>4</answer></think>", "nested"),
    ("<think>a</think><answer>4", "0 </answer>"),
    ("</think>a<think><answer>4</answer>", "nested"),
    ("<answer>4</answer><think>a</think>", "out of order"),
    ("Sure! <think>a</think><answer>4</answer>", "outside"),
    ("<think>a</think>so<answer>4</answer>", "outside"),
    ("<think>a</think><answer>4</answer> The answer is 5.", "outside"),
    ("<think>   </think><answer>4</answer>", "<think> is empty"),
    ("<think>a</think><answer></answer>", "<answer> is empty"),
    ("<THINK>a</THINK><answer>4</answer>", "<think> must open"),
    ("<think >a</think><answer>4</answer>", "<think> must open"),
])
def test_tags_reject(completion, why):
    entry = run({"kind": "tags"}, completion)
    assert entry["score"] == 0.0
    assert why in entry["reason"]


def test_tags_options():
    assert run({"kind": "tags", "ordered": False}, "<answer>4</answer><think>a</think>")["score"] == 1.0
    assert run({"kind": "tags", "allow_outside": True}, "hi <think>a</think> so <answer>4</answer>")["score"] == 1.0
    assert run({"kind": "tags", "require_content": False}, "<think></think><answer>4</answer>")["score"] == 1.0
    assert run({"kind": "tags", "tags": ["reasoning", "final"]}, "<reasoning>r</reasoning><final>f</final>")["score"] == 1.0
    assert run({"kind": "tags", "tags": ["a.b"]}, "<axb>x</axb>")["score"] == 0.0  # names are literal, not patterns


@pytest.mark.parametrize("tags", [[], ["think", "think"], ["<b>"], ["a|b"], ["1x"]])
def test_tags_spec_rejects_bad_names(tags):
    with pytest.raises(ValidationError):
        spec_of({"kind": "tags", "tags": tags})


def test_tag_scoped_check_needs_the_tag_exactly_once():
    check = {"kind": "string_check", "operation": "eq", "tag": "answer"}
    assert run(check, GOOD, "4")["score"] == 1.0
    assert run(check, "<think>4</think>", "4")["score"] == 0.0
    entry = run(check, "<answer>4</answer><answer>5</answer>", "4")
    assert entry["score"] == 0.0 and "exactly once" in entry["reason"]
    assert run(check, "</answer>4<answer>", "4")["score"] == 0.0


# --- regex ------------------------------------------------------------------------------------------------------

def test_regex_search_and_fullmatch():
    assert run({"kind": "regex", "pattern": r"\d+"}, "it is 42.")["score"] == 1.0
    assert run({"kind": "regex", "pattern": r"\d+"}, "forty-two")["score"] == 0.0
    assert run({"kind": "regex", "pattern": r"\d+", "mode": "fullmatch"}, "it is 42")["score"] == 0.0
    assert run({"kind": "regex", "pattern": r"\d+", "mode": "fullmatch"}, "42")["score"] == 1.0
    assert run({"kind": "regex", "pattern": "yes", "ignore_case": True}, "YES")["score"] == 1.0
    assert run({"kind": "regex", "pattern": "yes"}, "YES")["score"] == 0.0
    assert run({"kind": "regex", "pattern": "^b$", "multiline": True}, "a\nb\nc")["score"] == 1.0
    assert run({"kind": "regex", "pattern": "a.b", "dotall": True}, "a\nb")["score"] == 1.0
    assert run({"kind": "regex", "pattern": r"\d", "tag": "answer"}, "<think>1</think><answer>x</answer>")["score"] == 0.0


@pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "*a", "x" * 5000])
def test_regex_invalid_pattern_is_a_spec_error(pattern):
    with pytest.raises(ValidationError):
        spec_of({"kind": "regex", "pattern": pattern})


def test_regex_catastrophic_backtracking_scores_zero():
    entry = run({"kind": "regex", "pattern": r"(x+x+)+y", "mode": "fullmatch"}, "x" * 30_000)
    assert entry["score"] == 0.0
    assert "took over" in entry["reason"]


# --- json -------------------------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
          "required": ["name", "age"], "additionalProperties": False}


@pytest.mark.parametrize(("completion", "ok"), [
    ('{"a": [1, 2, {"b": null}]}', True),
    ("  42 ", True),
    ('"text"', True),
    ("{'a': 1}", False),
    ('{"a": 1} trailing', False),
    ('{"a": NaN}', False),
    ("Infinity", False),
    ("", False),
    ("[" * 40_000 + "]" * 40_000, False),
    ("1" * 5000, False),  # past Python's int digit limit: not an accepted number
])
def test_json_validity(completion, ok):
    assert run({"kind": "json"}, completion)["score"] == float(ok)


def test_json_nesting_reason():
    assert "nested too deeply" in run({"kind": "json"}, "[" * 40_000 + "]" * 40_000)["reason"]


@pytest.mark.parametrize(("completion", "ok"), [
    ('{"name": "Ada", "age": 36}', True),
    ('{"name": "Ada"}', False),
    ('{"name": "Ada", "age": -1}', False),
    ('{"name": "Ada", "age": 36, "extra": 1}', False),
    ('["Ada", 36]', False),
])
def test_json_schema(completion, ok):
    entry = run({"kind": "json", "schema": SCHEMA}, completion)
    assert entry["score"] == float(ok)
    if not ok:
        assert "schema" in entry["reason"]


def test_json_schema_deep_value_is_scored_not_crashed():
    deep = "[" * 900 + "]" * 900
    schema = {"$ref": "#/$defs/n", "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}
    entry = run({"kind": "json", "schema": schema}, deep)
    assert entry["score"] in (0.0, 1.0) and entry["reason"]


def test_json_unresolvable_ref_scores_zero_with_reason():
    entry = run({"kind": "json", "schema": {"$ref": "#/$defs/missing"}}, "1")
    assert entry["score"] == 0.0 and "$ref" in entry["reason"]


def test_json_fences():
    fenced = '```json\n{"name": "Ada", "age": 3}\n```'
    assert run({"kind": "json", "schema": SCHEMA}, fenced)["score"] == 0.0
    assert run({"kind": "json", "schema": SCHEMA, "strip_fences": True}, fenced)["score"] == 1.0
    assert run({"kind": "json", "strip_fences": True}, "```\n[1]\n```")["score"] == 1.0


@pytest.mark.parametrize("schema", [{"type": "nope"}, {"minimum": "zero"}, {"required": "name"}])
def test_json_invalid_schema_is_a_spec_error(schema):
    with pytest.raises(ValidationError, match="invalid JSON Schema"):
        spec_of({"kind": "json", "schema": schema})


def test_json_schema_spec_round_trips_by_its_public_name():
    spec = spec_of({"kind": "json", "schema": SCHEMA})
    dumped = spec.model_dump()
    assert dumped["checks"][0]["schema"] == SCHEMA
    assert parse_spec(dumped) == spec
    assert parse_spec(spec.model_dump(mode="json")) == spec


# --- length -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("check", "completion", "ok"), [
    ({"min": 3}, "abc", True),
    ({"min": 3}, "ab", False),
    ({"max": 3}, "abcd", False),
    ({"min": 1, "max": 1}, "a", True),
    ({"min": 2, "unit": "words"}, "one two", True),
    ({"min": 2, "unit": "words"}, "onetwo   ", False),
    ({"max": 2, "unit": "words"}, "one two three", False),
    ({"max": 0}, "", True),
])
def test_length(check, completion, ok):
    entry = run({"kind": "length", **check}, completion)
    assert entry["score"] == float(ok)
    assert "length" in entry


@pytest.mark.parametrize("check", [{}, {"min": 5, "max": 4}, {"min": -1}, {"unit": "tokens", "max": 3}])
def test_length_spec_errors(check):
    with pytest.raises(ValidationError):
        spec_of({"kind": "length", **check})


# --- string_check -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("operation", "completion", "reference", "ok"), [
    ("eq", "Paris", "Paris", True),
    ("eq", " Paris\n", "Paris", True),
    ("eq", "paris", "Paris", False),
    ("eq", "Paris, France", "Paris", False),
    ("ne", "Lyon", "Paris", True),
    ("ne", "Paris", "Paris", False),
    ("like", "It is Paris.", "Paris", True),
    ("like", "It is paris.", "Paris", False),
    ("ilike", "It is PARIS.", "Paris", True),
    ("ilike", "It is Lyon.", "Paris", False),
    ("eq", "42", 42, True),
    ("eq", "4.5", 4.5, True),
    ("eq", "", "", True),
    ("like", "anything", "", False),
    ("ilike", "anything", "  ", False),
])
def test_string_check(operation, completion, reference, ok):
    assert run({"kind": "string_check", "operation": operation}, completion, reference)["score"] == float(ok)


def test_string_check_value_and_missing_reference():
    assert run({"kind": "string_check", "operation": "eq", "value": "yes"}, "yes", "no")["score"] == 1.0
    assert run({"kind": "string_check", "operation": "eq", "strip": False}, "yes ", "yes")["score"] == 0.0
    for reference in (None, ["yes"], {"a": 1}, True):
        entry = run({"kind": "string_check", "operation": "eq"}, "yes", reference)
        assert entry["score"] == 0.0 and "no text reference" in entry["reason"]
    with pytest.raises(ValidationError):
        spec_of({"kind": "string_check", "operation": "regex"})


# --- similarity -------------------------------------------------------------------------------------------------

REFERENCE = "The quick brown fox jumps over the lazy dog near the river bank"
METRICS = [fuzzy_similarity, bleu_similarity, rouge_l_similarity]


@pytest.mark.parametrize("metric", METRICS)
def test_similarity_identical_close_and_unrelated(metric):
    assert metric(REFERENCE, REFERENCE) == pytest.approx(1.0)
    close = metric("The quick brown fox jumped over the lazy dog near the river", REFERENCE)
    unrelated = metric("Completely different words about stock markets and interest rates", REFERENCE)
    assert 0.3 < close < 1.0
    assert unrelated < close and unrelated < 0.5


@pytest.mark.parametrize("metric", METRICS)
def test_similarity_is_not_gamed_by_repeating_the_reference(metric):
    assert metric(" ".join([REFERENCE] * 8), REFERENCE) < 0.5


def test_rouge_l_is_f1_of_the_lcs():
    assert rouge_l_similarity("a b c d", "a c d e") == pytest.approx(0.75)  # LCS 3 of 4 both ways
    assert rouge_l_similarity("A, B!", "a b") == pytest.approx(1.0)  # lowercased word tokens
    assert rouge_l_similarity("...", "a b") == 0.0


def test_similarity_check_threshold_and_empty():
    check = {"kind": "similarity", "metric": "rouge_l"}
    graded = run(check, "The quick brown fox", REFERENCE)
    assert 0 < graded["score"] < 1
    passed = run({**check, "threshold": 0.3}, "The quick brown fox jumps over the dog", REFERENCE)
    assert passed["score"] == 1.0 and 0.3 <= passed["measure"] < 1
    assert run({**check, "threshold": 0.9}, "The quick brown fox", REFERENCE)["score"] == 0.0
    assert run(check, "", REFERENCE)["score"] == 0.0
    assert run(check, "   ", REFERENCE)["score"] == 0.0
    assert run(check, "x", None)["score"] == 0.0
    assert run({**check, "value": "hello there"}, "hello there", REFERENCE)["score"] == pytest.approx(1.0)


# --- repetition -------------------------------------------------------------------------------------------------

def test_repetition():
    fresh = run({"kind": "repetition"}, "Every word in this sentence appears exactly once, honestly.")
    assert fresh["score"] == 1.0
    looping = run({"kind": "repetition"}, "I think so. " * 50)
    assert looping["score"] < 0.1
    assert run({"kind": "repetition"}, "I think So. i THINK so.")["score"] < 1.0  # case does not hide repeats
    assert run({"kind": "repetition"}, "")["score"] == 0.0
    assert run({"kind": "repetition"}, "two words")["score"] == 1.0


def test_repetition_chars_catches_loops_without_spaces():
    looping = "abcabc" * 200
    assert run({"kind": "repetition"}, looping)["score"] == 1.0  # one word: word n-grams cannot see it
    assert run({"kind": "repetition", "unit": "chars", "n": 8}, looping)["score"] < 0.05


def test_repetition_threshold():
    check = {"kind": "repetition", "threshold": 0.8}
    assert run(check, "a b c d e f g h i j")["score"] == 1.0
    entry = run(check, "a b c a b c a b c a b c")
    assert entry["score"] == 0.0 and entry["measure"] < 0.8


# --- aggregation and the whole spec -----------------------------------------------------------------------------

TAGS = {"kind": "tags"}
ANSWER_IS_4 = {"kind": "string_check", "operation": "eq", "tag": "answer", "value": "4"}
SHORT = {"kind": "length", "max": 20}


def test_mean_gives_partial_credit_by_weight():
    sample = Sample(completion=GOOD)
    assert score(spec_of(TAGS, ANSWER_IS_4, SHORT), sample).reward == pytest.approx(2 / 3)
    weighted = spec_of({**TAGS, "weight": 3}, {**ANSWER_IS_4, "weight": 1}, {**SHORT, "weight": 0})
    assert score(weighted, Sample(completion="<think>a</think><answer>5</answer>")).reward == pytest.approx(0.75)


def test_all_and_min():
    sample = Sample(completion=GOOD)
    assert score(spec_of(TAGS, ANSWER_IS_4, aggregate="all"), sample).reward == 1.0
    assert score(spec_of(TAGS, ANSWER_IS_4, SHORT, aggregate="all"), sample).reward == 0.0
    similar = {"kind": "similarity", "tag": "answer", "value": "4.0"}
    assert score(spec_of(TAGS, similar, aggregate="min"), sample).reward == pytest.approx(fuzzy_similarity("4", "4.0"))


def test_spec_level_errors():
    with pytest.raises(ValidationError, match="threshold"):
        spec_of(TAGS, {"kind": "repetition"}, aggregate="all")
    with pytest.raises(ValidationError, match="weight"):
        spec_of({**TAGS, "weight": 0})
    with pytest.raises(ValidationError):
        spec_of({"kind": "nope"})
    with pytest.raises(ValidationError):
        spec_of({**TAGS, "surprise": 1})
    with pytest.raises(ValidationError):
        parse_spec({"type": "format", "checks": []})


def test_too_long_completion_scores_zero_unchecked():
    spec = spec_of({"kind": "length", "min": 1}, max_chars=100)
    result = score(spec, Sample(completion="x" * 101))
    assert result.reward == 0.0 and "max_chars" in result.details["reason"]
    assert score(spec, Sample(completion="x" * 100)).reward == 1.0


def test_empty_completion_earns_nothing_from_the_usual_checks():
    checks = [TAGS, {"kind": "json"}, {"kind": "regex", "pattern": r"\d"}, {"kind": "similarity"},
              {"kind": "repetition"}, {"kind": "string_check", "operation": "like"}]
    assert score(spec_of(*checks), Sample(completion="", reference="4")).reward == 0.0


def test_padding_with_the_reference_does_not_pay_under_a_typical_spec():
    spec = spec_of({"kind": "similarity", "metric": "rouge_l"}, {"kind": "repetition"}, aggregate="min")
    honest = score(spec, Sample(completion=REFERENCE, reference=REFERENCE)).reward
    padded = score(spec, Sample(completion=" ".join([REFERENCE] * 20), reference=REFERENCE)).reward
    assert honest == pytest.approx(1.0)
    assert padded < 0.2


# --- through the worker pool and over HTTP ----------------------------------------------------------------------

async def test_grader_in_the_pool_scores_in_order(service):
    grader = {"type": "format", "checks": [TAGS, ANSWER_IS_4], "aggregate": "all"}
    completions = [GOOD, "4", "<think>a</think><answer>5</answer>", GOOD + " extra"] * 3
    scores = await service.score_batch(grader, [Sample(completion=c) for c in completions])
    assert [s.reward for s in scores] == [1.0, 0.0, 0.0, 0.0] * 3
    assert all(s.error is None for s in scores)


async def test_hostile_inputs_in_the_pool_score_zero_without_errors(service):
    grader = {"type": "format", "timeout_s": 5, "checks": [
        {"kind": "regex", "pattern": r"^(a|aa)+$"}, {"kind": "json"}, TAGS, {"kind": "repetition"},
    ]}
    hostile = ["a" * 30_000 + "b", "[" * 50_000, "<think>" * 10_000, "\x00" * 1000, "😀" * 20_000]
    scores = await service.score_batch(grader, [Sample(completion=c) for c in hostile])
    assert all(s.error is None for s in scores)
    assert all(s.reward < 0.5 for s in scores)
    assert "took over" in scores[0].details["checks"][0]["reason"]


def test_http_scores_and_rejects_bad_specs_with_422():
    with launch(["serve", "--workers", "1"], free_port()) as url:
        ok = httpx.post(f"{url}/v1/score", json={
            "grader": {"type": "format", "checks": [{"kind": "json", "schema": SCHEMA}]},
            "completion": '{"name": "Ada", "age": 36}',
        }, timeout=30)
        assert ok.status_code == 200 and ok.json()["reward"] == 1.0
        for check in ({"kind": "regex", "pattern": "(unclosed"}, {"kind": "json", "schema": {"type": 5}},
                      {"kind": "length"}, {"kind": "tags", "tags": ["x", "x"]}):
            bad = httpx.post(f"{url}/v1/score", json={"grader": {"type": "format", "checks": [check]},
                                                      "completion": "x"}, timeout=30)
            assert bad.status_code == 422, (check, bad.text)
            assert "invalid grader spec" in bad.text


ALL_CHECKS = spec_of(
    TAGS, {"kind": "regex", "pattern": r"\d+", "tag": "answer"}, {"kind": "json", "schema": SCHEMA},
    {"kind": "length", "min": 5, "max": 500, "unit": "words"}, {"kind": "string_check", "operation": "ilike"},
    {"kind": "similarity", "metric": "bleu"}, {"kind": "similarity", "metric": "rouge_l"},
    {"kind": "repetition", "unit": "chars", "n": 4},
)
TAGGY = st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "{", "}", "[", '"',
                                  "4", " ", "\n", "a", "é", "\x00"]), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(completion=st.one_of(st.text(max_size=300), TAGGY), reference=st.one_of(st.none(), st.text(max_size=40)))
def test_any_completion_gets_a_reward_in_range_and_never_raises(completion, reference):
    result = score(ALL_CHECKS, Sample(completion=completion, reference=reference))
    assert 0.0 <= result.reward <= 1.0 and result.error is None
    assert all(0.0 <= c["score"] <= 1.0 and c["reason"] for c in result.details["checks"])
