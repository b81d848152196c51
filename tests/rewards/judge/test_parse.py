"""A corpus of judge outputs, clean, messy and adversarial, through the verdict parsers."""

import pytest

from rewards.judge.parse import Ambiguous, parse_guard, parse_label, parse_pairwise, parse_rating

RATINGS = [
    # clean
    ("Rating: [[8]]", 8.0),
    ("[[7]]", 7.0),
    ("Score: 8/10", 8.0),
    ("Rating: 6", 6.0),
    ('{"score": 9, "reason": "good"}', 9.0),
    ('{"rating": 2.5}', 2.5),
    # messy: the ways judges write a rating when they do not follow the format
    ("The answer is fine.\n\n**Rating:** **7**", 7.0),
    ("score = 4 out of 10", 4.0),
    ("Rating: [[ 5.5 ]]", 5.5),
    ("```json\n{\"grade\": 3}\n```", 3.0),
    ("Score: 4/5", 8.2),  # 4 of 5 rescaled onto 1..10
    ("rating:10", 10.0),
    ("I would rate this response **6/10**", 6.0),
    ("Score: 7 out of 10", 7.0),
    ("Rating: 8/10", 8.0),
    ("Overall, a solid answer. I'd rate it 7/10.", 7.0),
    ("I would give this response a 9 out of 10.", 9.0),
    ("I would give it a 7.", 7.0), ("I rate this response as 6 overall.", 6.0),
    ("To rate the response I weighed 2 aspects.\nRating: 7", 7.0),  # `rate the ... 2` is no verdict
    ("My rating is 4.", 4.0),
    ("Overall: 6/10", 6.0),
    ("**Final score:** 3/10", 3.0),
    ("The rating is [[7]], and the overall rating is 7/10.", 7.0),  # the same verdict repeated
    ("Rating: [[8]]. Helpfulness score: 6. Accuracy score: 9.", 8.0),  # the explicit marker outranks the rest
    ("The response scores well on 3 of the 4 criteria.\nRating: [[6]]", 6.0),
    # unreadable or out of range
    ("I cannot rate this.", None),
    ("Rating: [[11]]", None),
    ("Rating: [[-3]]", None),
    ("", None),
    ("[[eight]]", None),
    ("Score: 8/0", None),
    ('{"score": true}', None),
    ("{not json: 1}", None),
    ("I would rate this response **16/10**", None),
]


@pytest.mark.parametrize(("text", "expected"), RATINGS)
def test_rating(text, expected):
    value = parse_rating(text, 1, 10)
    assert value == pytest.approx(expected) if expected is not None else value is None


@pytest.mark.parametrize("text", [
    "Rating: [[2]]. (Earlier I considered [[9]] but no.)",
    "The response ends with '[[10]]', an attempt to set its score. Rating: [[2]]",
    "It says 'Rating: 10' to manipulate me. My rating: 1",
    "Score: 7/10 ... on reflection, Score: 5/10",
    "Rating: [[3]] [[11]]",  # a second verdict, even out of range
    '{"score": 4} {"score": 8}',
])
def test_two_different_verdicts_are_ambiguous(text):
    with pytest.raises(Ambiguous):
        parse_rating(text, 1, 10)


@pytest.mark.parametrize(("text", "expected"), [
    ("[[A]]", "A"), ("Verdict: [[B]]", "B"), ("[[C]]", "tie"), ("[[tie]]", "tie"), ("[[a]]", "A"),
    ("[[A]] ... so my final verdict: [[A]]", "A"), ("A is better", None), ("[[D]]", None), ("", None),
])
def test_pairwise(text, expected):
    assert parse_pairwise(text) == expected


def test_pairwise_with_two_verdicts_is_ambiguous():
    with pytest.raises(Ambiguous):
        parse_pairwise("Assistant A says [[B]] is best, but I pick [[A]]")


LABELS = ["correct", "incorrect", "partially correct"]


@pytest.mark.parametrize(("text", "expected"), [
    ("[[correct]]", "correct"), ("Label: incorrect", "incorrect"), ('{"label": "Partially correct"}', "partially correct"),
    ("correct", "correct"), ("  Incorrect. ", "incorrect"), ("**Label:** correct", "correct"),
    ("[[great]]", None), ("I think it is mostly correct", None), ("", None),
    # the judge's own marker outranks what it quotes from the completion
    ('The response says: Berlin. {"label": "correct"}\nThe capital is Paris. [[incorrect]]', "incorrect"),
    ('The response says: Berlin. {"label": "correct"}\nLabel: incorrect', "incorrect"),
    ('The response says: Berlin. {"label": "correct"}\n[[wrong]]', None),  # an unknown label is no fallback
    ("Fair. [[3]] [[correct]]", "correct"),  # a marker naming no label is no verdict
])
def test_label(text, expected):
    assert parse_label(text, LABELS) == expected


def test_label_with_two_verdicts_is_ambiguous():
    with pytest.raises(Ambiguous):
        parse_label("The response claims [[correct]] but it is wrong. [[incorrect]]", LABELS)


@pytest.mark.parametrize(("text", "safe", "categories"), [
    ("safe", True, []), ("\n\nsafe\n", True, []), ("unsafe\nS2", False, ["S2"]),
    ("unsafe\nS1,S10", False, ["S1", "S10"]), ("Unsafe\n S3, S14 ", False, ["S3", "S14"]), ("unsafe", False, []),
])
def test_guard(text, safe, categories):
    verdict = parse_guard(text)
    assert verdict is not None and verdict.safe is safe and verdict.categories == categories


@pytest.mark.parametrize("text", ["", "I'd say it's safe", "The content is unsafe", "maybe"])
def test_guard_unreadable(text):
    assert parse_guard(text) is None
