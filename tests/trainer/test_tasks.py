"""The procedural tasks: seeded, and every reference is the exact answer of its prompt."""

from __future__ import annotations

import re

from trainer.tasks import TASKS, arithmetic, linear, word


def test_references_are_the_exact_answers() -> None:
    for p in arithmetic(200, seed=3, digits=2, operators="+-*"):
        assert int(p.reference) == eval(p.prompt.rstrip("="))  # noqa: S307 - our own generated digits
    for p in linear(200, seed=3):
        a, b, c = map(int, re.fullmatch(r"(\d+)\*x\+(\d+)=(-?\d+), x=", p.prompt).groups())
        assert a * int(p.reference) + b == c
    for p in word(200, seed=3):
        start, bags, per_bag, given = map(int, re.findall(r"\d+", p.prompt))
        assert int(p.reference) == start + bags * per_bag - given


def test_tasks_are_seeded_and_word_prompts_are_gsm8k_sized() -> None:
    assert set(TASKS) == {"arithmetic", "linear", "word"}
    assert word(50, seed=1) == word(50, seed=1) != word(50, seed=2)
    lengths = [len(p.prompt) for p in word(500)]
    assert 150 <= min(lengths) and max(lengths) <= 256  # fits the tiny model's 256 positions in trainer_bench
