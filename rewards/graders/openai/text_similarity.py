"""OpenAI's `text_similarity`: a similarity metric between two rendered templates, with OpenAI's names.

`fuzzy_match`, `bleu` and `rouge_l` are our format similarity metrics (rewards.graders.format_checks);
new here are `gleu` (Google-BLEU: min of n-gram precision and recall, n = 1..4), `rouge_1`..`rouge_5`
(F1 of n-gram overlap) and `meteor` (unigram F-mean with recall weighted 9:1 and a fragmentation
penalty, exact word matches only: no stems or synonyms). Words are lowercased `\\w+` tokens.
`cosine` needs an embedding model, which this grader does not run: a spec asking for it is refused.

pass_threshold as OpenAI documents it: the reward is the metric itself, and `details.passed` says
whether it reached the threshold (our format check's `threshold` instead turns the reward into 0/1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from rewards.graders.base import PooledGrader
from rewards.graders.format_checks import METRICS, words
from rewards.graders.openai.spec import OpenAISpec, Template
from rewards.graders.openai.templates import render_pair
from rewards.types import Sample, Score

Metric = Literal["cosine", "fuzzy_match", "bleu", "gleu", "meteor", "rouge_1", "rouge_2", "rouge_3", "rouge_4",
                 "rouge_5", "rouge_l"]
METEOR_ALPHA, METEOR_BETA, METEOR_GAMMA = 0.9, 3.0, 0.5  # the usual METEOR parameters


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _f1(overlap: int, hyp_total: int, ref_total: int) -> float:
    if not overlap:
        return 0.0
    precision, recall = overlap / hyp_total, overlap / ref_total
    return 2 * precision * recall / (precision + recall)


def rouge_n(n: int) -> Callable[[str, str], float]:
    """ROUGE-N F1 on lowercased words."""
    def metric(text: str, reference: str) -> float:
        hyp, ref = _ngrams(words(text), n), _ngrams(words(reference), n)
        return _f1(sum((hyp & ref).values()), sum(hyp.values()), sum(ref.values()))
    return metric


def gleu(text: str, reference: str) -> float:
    """Sentence GLEU: min(precision, recall) over all 1- to 4-grams, counts clipped."""
    hyp_words, ref_words = words(text), words(reference)
    hyp: Counter[tuple[str, ...]] = Counter()
    ref: Counter[tuple[str, ...]] = Counter()
    for n in range(1, 5):
        hyp += _ngrams(hyp_words, n)
        ref += _ngrams(ref_words, n)
    overlap, hyp_total, ref_total = sum((hyp & ref).values()), sum(hyp.values()), sum(ref.values())
    return min(overlap / hyp_total, overlap / ref_total) if overlap else 0.0


def meteor(text: str, reference: str) -> float:
    """METEOR with exact matches: each hypothesis word aligned to its first free equal reference word."""
    hyp, ref = words(text), words(reference)
    free = list(range(len(ref)))
    aligned: list[tuple[int, int]] = []
    for i, word in enumerate(hyp):
        j = next((j for j in free if ref[j] == word), None)
        if j is not None:
            free.remove(j)
            aligned.append((i, j))
    matches = len(aligned)
    if not matches:
        return 0.0
    precision, recall = matches / len(hyp), matches / len(ref)
    fmean = precision * recall / (METEOR_ALPHA * precision + (1 - METEOR_ALPHA) * recall)
    chunks = 1 + sum(1 for (i, j), (k, m) in zip(aligned, aligned[1:], strict=False) if (k, m) != (i + 1, j + 1))
    penalty: float = METEOR_GAMMA * (chunks / matches) ** METEOR_BETA
    return fmean * (1 - penalty)


OPENAI_METRICS: dict[str, Callable[[str, str], float]] = {
    "fuzzy_match": METRICS["fuzzy"], "bleu": METRICS["bleu"], "rouge_l": METRICS["rouge_l"], "gleu": gleu,
    "meteor": meteor, **{f"rouge_{n}": rouge_n(n) for n in range(1, 6)},
}


class TextSimilaritySpec(OpenAISpec):
    type: Literal["text_similarity"] = "text_similarity"
    input: Template = Field(description="The text graded, e.g. '{{sample.output_text}}'.")
    reference: Template = Field(description="The text compared against, e.g. '{{item.reference_answer}}'.")
    evaluation_metric: Metric = Field(description="OpenAI's metric name (cosine is not supported here).")
    pass_threshold: float | None = Field(default=None, description="details.passed is whether the score reaches it.")

    @field_validator("evaluation_metric")
    @classmethod
    def _runnable(cls, metric: str) -> str:
        if metric not in OPENAI_METRICS:
            raise ValueError(f"{metric!r} needs an embedding model, which rlvr does not run for text_similarity; "
                             f"use one of {sorted(OPENAI_METRICS)}")
        return metric


def score(spec: TextSimilaritySpec, sample: Sample) -> Score:
    """The metric in [0, 1]; an empty input or reference scores 0."""
    rendered = render_pair(spec.input, spec.reference, sample)
    if isinstance(rendered, Score):
        return rendered
    text, target = rendered
    if not text.strip() or not target.strip():
        return Score.wrong("empty input or reference")
    value = min(1.0, max(0.0, OPENAI_METRICS[spec.evaluation_metric](text, target)))
    details: dict[str, object] = {"metric": spec.evaluation_metric}
    if spec.pass_threshold is not None:
        details["passed"] = value >= spec.pass_threshold
    return Score(reward=value, details=details)


class TextSimilarityGrader(PooledGrader[TextSimilaritySpec]):
    """OpenAI's text_similarity, run in the worker pool under the per-sample time budget."""

    spec_type: ClassVar = TextSimilaritySpec
    version = "1"
    score_fn = score
