"""`rlvr leakage`: built contamination (verbatim, re-punctuated, a few words changed) is found, unrelated items
are not, `--write-clean` drops exactly the contaminated rows, prompts holding their reference are flagged; the
trainer refuses to start on data holding its eval sets."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainer.config import DataConfig, ModelConfig, SFTConfig, TrainConfig
from trainer.leakage import (
    Item,
    LeakageError,
    LeakageOptions,
    check_before_training,
    check_leakage,
    items_of,
    reference_in_prompt,
)
from trainer.problems import Problem
from trainer.sft import sft
from trainer.tiny import save_tiny
from trainer.train import train

EVAL = [
    "A farmer has seventeen sheep and buys twice as many goats as sheep at the market on Monday; then he sells "
    "four goats to his neighbour. How many animals does the farmer own at the end of the week in total?",
    "Two trains leave stations three hundred kilometres apart at the same moment and travel toward each other "
    "at sixty and ninety kilometres per hour. After how many minutes do the two trains finally meet?",
]
UNRELATED = ("Write a function that returns the longest palindromic substring of a given string using dynamic "
             "programming, and explain its time and memory complexity for very long inputs.")


def _changed(text: str) -> str:
    """One word in ten replaced, so that no 13-word window survives intact."""
    tokens = text.split()
    for position in range(5, len(tokens), 10):
        tokens[position] = "zebra"
    return " ".join(tokens)


def _items(prompts: list[str], name: str) -> list[Item]:
    return [Item(f"{name}:{i}", p, None, {"prompt": p}) for i, p in enumerate(prompts)]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_verbatim_repunctuated_and_reworded_copies_are_found_unrelated_items_are_not() -> None:
    train = [EVAL[0], EVAL[1].upper().replace(".", " !!").replace("?", ";"), _changed(EVAL[0]), UNRELATED]
    report = check_leakage(_items(train, "t"), _items(EVAL, "e"), LeakageOptions())
    found = {(m["train"], m["kind"]) for matches in report.matches.values() for m in matches}
    assert found == {("t:0", "exact"), ("t:1", "exact"), ("t:2", "near")}
    assert {m["score"] for m in report.matches["e:1"]} == {1.0}
    assert report.rate == 1.0 and report.train_flagged == 3


def test_a_partial_copy_scores_the_share_of_the_eval_items_ngrams() -> None:
    half = " ".join(EVAL[0].split()[:20])
    report = check_leakage(_items([half], "t"), _items(EVAL, "e"), LeakageOptions(near_threshold=None))
    (match,) = report.matches["e:0"]
    assert match["kind"] == "exact" and 0 < match["score"] < 1


def test_items_shorter_than_n_words_compare_whole() -> None:
    options = LeakageOptions(near_threshold=None)
    report = check_leakage(_items(["What is 2 + 2?", "What is 2 + 2 when counted twice?"], "t"),
                           _items(["what is 2 plus 2", "what is 2 2"], "e"), options)
    assert list(report.matches) == ["e:1"] and [m["train"] for m in report.matches["e:1"]] == ["t:0"]


def test_write_clean_drops_exactly_the_contaminated_rows_while_streaming() -> None:
    clean = io.StringIO()
    rows = [EVAL[1], UNRELATED, _changed(EVAL[0]), "Name three prime numbers larger than one hundred."]

    def train() -> Iterator[Item]:
        for i, item in enumerate(_items(rows, "t")):
            if i == 3:  # the clean row before this one is already written: nothing waits for the end
                assert json.loads(clean.getvalue().splitlines()[-1]) == {"prompt": UNRELATED}
            yield item

    report = check_leakage(train(), _items(EVAL, "e"), LeakageOptions(), clean)
    kept = [json.loads(line)["prompt"] for line in clean.getvalue().splitlines()]
    assert kept == [UNRELATED, rows[3]]
    assert report.train_items == 4 and report.train_flagged == 2


@pytest.mark.parametrize(("prompt", "reference", "leaks"), [
    ("What is 17 * 3? (Hint: the answer is 51.)", "51", True),
    ("Round 1.25 to one decimal place.", "1.2", False),
    ("Add 123 and 0.", "12", False),
    ("Which city is the capital of France? Paris or Rome?", "paris", True),
    ("Explain the proof. The proof is long.", "by induction on the length of the proof of the lemma", False),
    ("What is 2 + 2?", None, False),
])
def test_a_prompt_holding_its_own_short_reference_is_flagged(prompt: str, reference: str | None,
                                                               leaks: bool) -> None:
    assert reference_in_prompt(Item("x", prompt, reference, {}), max_words=5) is leaks


def test_a_train_prompt_holding_its_reference_is_reported_and_dropped() -> None:
    clean = io.StringIO()
    train = [Item("t:0", "Compute 6 * 7; it is 42.", "42", {"prompt": "a"}), Item("t:1", UNRELATED, "0", {})]
    report = check_leakage(train, _items(EVAL, "e"), LeakageOptions(), clean)
    assert report.reference_in_prompt == [{"set": "train", "item": "t:0", "reference": "42"}]
    assert report.rate == 0.0 and clean.getvalue() == "{}\n"


def test_sources_jsonl_with_fallback_fields_a_saved_dataset_and_a_trainer_config(tmp_path: Path) -> None:
    import datasets

    jsonl = _write(tmp_path / "q.jsonl", [{"question": EVAL[0], "answer": 38}])
    datasets.Dataset.from_list([{"problem": EVAL[1]}]).save_to_disk(str(tmp_path / "saved"))
    (tmp_path / "config.yaml").write_text(f"data:\n  jsonl: {_write(tmp_path / 'd.jsonl', [{'prompt': UNRELATED}])}\n")
    items = list(items_of([jsonl, tmp_path / "saved", tmp_path / "config.yaml"], LeakageOptions()))
    assert [(i.prompt, i.reference) for i in items] == [(EVAL[0], "38"), (EVAL[1], None), (UNRELATED, None)]


def test_a_row_without_a_prompt_names_the_fields_it_tried(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no 'text'.*question/problem"):
        list(items_of([_write(tmp_path / "x.jsonl", [{"body": "hi"}])], LeakageOptions(prompt_field="text")))


def test_the_cli_reports_writes_clean_rows_and_fails_above_max_rate(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [{"prompt": EVAL[0]}, {"prompt": UNRELATED}])
    evals = _write(tmp_path / "eval.jsonl", [{"prompt": p} for p in EVAL])

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rlvr", "leakage", str(train), "--eval", str(evals), *extra],
                              capture_output=True, text=True, timeout=120)

    failed = run("--report", str(tmp_path / "r.json"), "--write-clean", str(tmp_path / "clean.jsonl"))
    assert failed.returncode == 1 and "50.00%" in failed.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["contaminated_eval_items"] == 1 and report["matches"][0]["matches"][0]["kind"] == "exact"
    assert (tmp_path / "clean.jsonl").read_text() == json.dumps({"prompt": UNRELATED}) + "\n"
    assert run("--allow").returncode == 0 and run("--max-rate", "0.5").returncode == 0


def test_the_trainer_guard_refuses_above_the_rate_unless_allowed(tmp_path: Path) -> None:
    evals = str(_write(tmp_path / "eval.jsonl", [{"prompt": p} for p in EVAL]))
    problems = [Problem(prompt=EVAL[0], reference="38"), Problem(prompt=UNRELATED, reference="x")]
    assert check_before_training(problems, DataConfig()) is None
    with pytest.raises(LeakageError, match="50.00% of the eval items"):
        check_before_training(problems, DataConfig(eval_sets=[evals]))
    assert check_before_training(problems, DataConfig(eval_sets=[evals], leakage_max_rate=0.5)) is not None
    allowed = check_before_training(problems, DataConfig(eval_sets=[evals], leakage_allow=True))
    assert allowed is not None and allowed.rate == 0.5


def test_rl_and_sft_refuse_to_start_on_data_holding_their_eval_set(tmp_path: Path) -> None:
    evals = str(_write(tmp_path / "eval.jsonl", [{"prompt": p} for p in EVAL]))
    data = DataConfig(jsonl=str(_write(tmp_path / "data.jsonl", [{"prompt": EVAL[1], "reference": "120"}])),
                      eval_sets=[evals])
    model = ModelConfig(path=str(save_tiny(tmp_path / "m", hidden=16, layers=1, heads=1)))
    with pytest.raises(LeakageError):
        sft(SFTConfig(model=model, data=data, output_dir=str(tmp_path / "sft")))
    assert not (tmp_path / "sft").exists()
    with pytest.raises(LeakageError):
        train(TrainConfig(model=model, data=data, output_dir=str(tmp_path / "rl"), steps=1))
    assert not (tmp_path / "rl" / "metrics.jsonl").exists()
