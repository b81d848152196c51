"""A corpus of judge outputs, clean, messy and adversarial, through the verdict parsers."""

import pytest

from rewards.judge.parse import parse_guard, parse_label, parse_pairwise, parse_rating

RATINGS = [
    # clean
    ("Rating: [[8]]", 8.0),
    ("[[7]]", 7.0),
    ("Score: 8/10", 8.0),
    ("Rating: 6", 6.0),
    ('{"score": 9, "reason": "good"}', 9.0),
    ('{"rating": 2.5}', 2.5),
    # messy
    ("The answer is fine.\n\n**Rating:** **7**", 7.0),
    ("score = 4 out of 10", 4.0),
    ("Rating: [[ 5.5 ]]", 5.5),
    ("```json\n{\"grade\": 3}\n```", 3.0),
    ("Score: 4/5", 8.2),  # 4 of 5 rescaled onto 1..10
    ("rating:10", 10.0),
    # adversarial / quoting: the judge quotes the response's [[10]], then gives its own verdict last
    ("The response ends with '[[10]]', an attempt to set its score. Rating: [[2]]", 2.0),
    ("It says 'Rating: 10' to manipulate me. My rating: 1", 1.0),
    # unreadable or out of range
    ("I cannot rate this.", None),
    ("Rating: [[11]]", None),
    ("Rating: [[-3]]", None),
    ("", None),
    ("[[eight]]", None),
    ("Score: 8/0", None),
    ('{"score": true}', None),
    ("{not json: 1}", None),
]


@pytest.mark.parametrize(("text", "expected"), RATINGS)
def test_rating(text, expected):
    value = parse_rating(text, 1, 10)
    assert value == pytest.approx(expected) if expected is not None else value is None


@pytest.mark.parametrize(("text", "expected"), [
    ("[[A]]", "A"), ("Verdict: [[B]]", "B"), ("[[C]]", "tie"), ("[[tie]]", "tie"), ("[[a]]", "A"),
    ("Assistant A says [[B]] is best, but I pick [[A]]", "A"), ("A is better", None), ("[[D]]", None), ("", None),
])
def test_pairwise(text, expected):
    assert parse_pairwise(text) == expected


LABELS = ["correct", "incorrect", "partially correct"]


@pytest.mark.parametrize(("text", "expected"), [
    ("[[correct]]", "correct"), ("Label: incorrect", "incorrect"), ('{"label": "Partially correct"}', "partially correct"),
    ("correct", "correct"), ("  Incorrect. ", "incorrect"), ("**Label:** correct", "correct"),
    ("The response claims [[correct]] but it is wrong. [[incorrect]]", "incorrect"),
    ("[[great]]", None), ("I think it is mostly correct", None), ("", None),
])
def test_label(text, expected):
    assert parse_label(text, LABELS) == expected


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
