"""The labelled math corpus (tests/data/math_corpus/): its records are well formed, and rlvr's math grader
stays above an accuracy floor on the dev and the held-out split.

The floors sit just under what the grader reached when last measured (`python -m bench.verifier_accuracy`
prints the full picture, with Math-Verify and veRL beside it).
"""

import pytest

from bench.verifier_accuracy import OURS, SPLITS, load_corpus, ours_tool, record_problems, score_corpus, tally

FLOORS = {"dev": 0.97, "heldout": 0.93}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_every_record_is_well_formed(corpus):
    assert corpus.files, "no corpus files"
    assert not corpus.malformed, corpus.malformed[:20]
    assert not corpus.problems, corpus.problems  # unique ids, one split per source, >= 60% real


def test_both_splits_have_both_labels(corpus):
    for split in SPLITS:
        labels = {r["label"] for r in corpus.records if r["split"] == split}
        assert labels == {0, 1}, f"{split}: labels {labels}"


def test_the_validator_names_what_is_wrong():
    good = {
        "id": "src/1", "source_key": "src", "source": {"url": "https://example.org/x"}, "split": "dev",
        "class": "boxed_plain", "reference": "5", "completion": r"\boxed{5}", "label": 1, "real": True,
    }  # fmt: skip
    assert record_problems(good) == []
    assert record_problems({**good, "label": 2}) == ["label 2"]
    assert record_problems({**good, "label": True}) == ["label has type bool"]
    assert record_problems({**good, "split": "test"}) == ["split 'test'"]
    assert record_problems({**good, "label": 0}) == ["note required (label 0, hard negative or not real)"]
    assert "derived_from required when real is false" in record_problems({**good, "real": False, "note": "x"})
    assert record_problems({**good, "id": "other/1"}) == ["id does not start with source_key/"]


async def test_accuracy_floor_per_split(corpus):
    verdicts, skipped = await score_corpus(corpus.records, [ours_tool(timeout=5.0)])
    assert not skipped, skipped
    tallies = tally(corpus.records, verdicts[OURS])
    reached = {split: tallies[(split, "overall")].accuracy() for split in SPLITS}
    assert all(reached[split] >= floor for split, floor in FLOORS.items()), reached
