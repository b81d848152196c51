"""Train/eval leakage: which eval items a training set contains, and prompts that contain their own answer.

Four checks, each reported per eval item with the matching train items:
- `exact`: normalized word n-gram overlap (13-grams by default, as in the GPT-3 and Llama decontamination
  reports); the score is the share of the eval item's n-grams found in the train item. Items shorter than n
  words are compared whole.
- `near`: MinHash/LSH (datasketch) over word-shingle sets; the score is the estimated Jaccard similarity. It
  catches re-worded copies that break every long n-gram.
- `paraphrase` (when an embedding server is given): the cosine similarity of the prompts' sentence embeddings
  is at least a threshold (trainer.paraphrase); it catches the same problem in other words, which shares few
  n-grams. Exact and near matches win over it for the same pair.
- `reference_in_prompt`: a prompt (train or eval) that contains its own short reference answer, word-bounded.

The eval sets are indexed in memory (10k items is small); the train sets are streamed (one item at a time, or
one embedding batch at a time with the paraphrase check) and never held whole, so `--write-clean` writes the
clean rows during the same single pass."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]  # datasketch ships no type information

from trainer.config import DataConfig
from trainer.data import load_problems
from trainer.paraphrase import Embedder, ParaphraseIndex
from trainer.problems import Problem

log = logging.getLogger(__name__)

PROMPT_FALLBACKS = ("question", "problem")
REFERENCE_FALLBACKS = ("answer",)
_WORD = re.compile(r"\w+")
_CONFIG_SUFFIXES = (".yaml", ".yml")
KINDS = ("exact", "near", "paraphrase", "reference_in_prompt")


@dataclass(frozen=True)
class Item:
    """One prompt of a train or eval source: `key` names it (`source:index`), `row` is what `--write-clean` writes."""

    key: str
    prompt: str
    reference: str | None
    row: dict[str, Any]


@dataclass(frozen=True)
class LeakageOptions:
    """The knobs of the check: n-gram size, the near-duplicate threshold and shingle size, fields."""

    n: int = 13
    near_threshold: float | None = 0.5  # None: no MinHash check; word-bigram Jaccard
    shingle: int = 2
    num_perm: int = 128
    prompt_field: str = "prompt"
    reference_field: str = "reference"
    max_matches: int = 20  # matches kept per eval item in the report (all are counted)
    max_reference_words: int = 5  # longer references are not searched for in their prompt
    embed_url: str | None = None  # an embedding server (/v1/embeddings): turns the paraphrase check on
    embed_model: str | None = None  # the model name it serves; default: the first it lists
    paraphrase_threshold: float = 0.8  # cosine similarity; all-MiniLM-L6-v2 puts reworded problems near 0.8-0.9
    embed_batch: int = 256  # prompts per embedding request (and train items per streamed batch)


@dataclass
class LeakageReport:
    """The result: per contaminated eval item its matches, and the totals the summary and exit status use."""

    eval_items: int = 0
    train_items: int = 0
    train_flagged: int = 0
    matches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    match_counts: Counter[str] = field(default_factory=Counter)
    reference_in_prompt: list[dict[str, Any]] = field(default_factory=list)

    @property
    def contaminated_eval(self) -> set[str]:
        """Eval items with a train match or their own reference in their prompt."""
        return set(self.matches) | {r["item"] for r in self.reference_in_prompt if r["set"] == "eval"}

    @property
    def rate(self) -> float:
        """The share of eval items that are contaminated: what a benchmark score would be inflated by."""
        return len(self.contaminated_eval) / self.eval_items if self.eval_items else 0.0

    def kinds(self) -> Counter[str]:
        """How many eval items have a match of each kind."""
        found: Counter[str] = Counter()
        for matches in self.matches.values():
            found.update({m["kind"] for m in matches})
        found["reference_in_prompt"] = sum(r["set"] == "eval" for r in self.reference_in_prompt)
        return found

    def to_json(self) -> dict[str, Any]:
        """The report as written by `--report`."""
        return {
            "eval_items": self.eval_items, "train_items": self.train_items, "train_flagged": self.train_flagged,
            "contaminated_eval_items": len(self.contaminated_eval), "rate": self.rate, "kinds": dict(self.kinds()),
            "matches": [{"eval": key, "count": self.match_counts[key], "matches": m} for key, m in self.matches.items()],
            "reference_in_prompt": self.reference_in_prompt,
        }

    def summary(self) -> str:
        """A plain table for the terminal."""
        kinds = self.kinds()
        rows = [("eval items", str(self.eval_items)), ("train items", str(self.train_items)),
                ("contaminated eval items", f"{len(self.contaminated_eval)} ({self.rate:.2%})"),
                *((f"  {kind}", str(kinds[kind])) for kind in KINDS),
                ("train items flagged", str(self.train_flagged)),
                ("train prompts with their reference",
                 str(sum(r["set"] == "train" for r in self.reference_in_prompt)))]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def words(text: str) -> list[str]:
    """Normalized words: lowercase, punctuation and whitespace dropped (so re-punctuated copies still match)."""
    return _WORD.findall(text.lower().replace("_", " "))


def ngrams(tokens: list[str], n: int) -> set[int]:
    """Hashes of the word n-grams; an item shorter than n words is one gram, itself (so it compares whole)."""
    if len(tokens) < n:
        return {hash(tuple(tokens))} if tokens else set()
    return {hash(tuple(tokens[i:i + n])) for i in range(len(tokens) - n + 1)}


def _first(row: dict[str, Any], names: Iterable[str]) -> Any:
    return next((row[name] for name in names if row.get(name) is not None), None)


def _item(row: dict[str, Any], key: str, options: LeakageOptions) -> Item:
    prompt = _first(row, (options.prompt_field, *PROMPT_FALLBACKS))
    if not isinstance(prompt, str):
        raise ValueError(f"{key}: no {options.prompt_field!r} (or {'/'.join(PROMPT_FALLBACKS)}) text field "
                         f"(keys: {sorted(row)})")
    reference = _first(row, (options.reference_field, *REFERENCE_FALLBACKS))
    return Item(key, prompt, None if reference is None else str(reference), row)


def _config_rows(path: Path) -> Iterator[dict[str, Any]]:
    raw = yaml.safe_load(path.read_text()) or {}
    for problem in load_problems(DataConfig.model_validate(raw.get("data") or {}), seed=raw.get("seed", 0)):
        yield {"prompt": problem.prompt, "reference": problem.reference, "response": problem.response}


def _dataset_rows(path: Path) -> Iterator[dict[str, Any]]:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    for split in loaded.values() if isinstance(loaded, datasets.DatasetDict) else [loaded]:
        yield from split  # arrow-backed and memory-mapped: rows are read one by one


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def read_items(path: Path, options: LeakageOptions) -> Iterator[Item]:
    """Stream a source's items: a JSONL file, a `datasets` dataset saved on disk (a directory), or a trainer
    config (YAML: its data section, loaded as the trainer loads it)."""
    if path.is_dir():
        rows = _dataset_rows(path)
    elif path.suffix in _CONFIG_SUFFIXES:
        rows = _config_rows(path)
    else:
        rows = _jsonl_rows(path)
    for index, row in enumerate(rows):
        yield _item(row, f"{path}:{index}", options)


def reference_in_prompt(item: Item, max_words: int) -> bool:
    """Whether the prompt contains its own short reference as whole words (a number is not found inside
    another number: `12` is not in `123` nor in `1.25`)."""
    reference = (item.reference or "").strip()
    if not reference or len(reference.split()) > max_words:
        return False
    pattern = rf"(?<![\w.]){re.escape(reference)}(?![\w]|\.\d)"
    return re.search(pattern, item.prompt, flags=re.IGNORECASE) is not None


class LeakageIndex:
    """The eval sets, indexed: n-gram hash -> eval items, a MinHash LSH over their shingle sets, and their prompts'
    embeddings when an embedding server is given; `close` when done."""

    def __init__(self, eval_items: Iterable[Item], options: LeakageOptions) -> None:
        self.options = options
        self.keys: list[str] = []
        self.gram_counts: list[int] = []
        self.grams: dict[int, list[int]] = {}
        self.report = LeakageReport()
        self.lsh = (MinHashLSH(threshold=options.near_threshold, num_perm=options.num_perm)
                    if options.near_threshold is not None else None)
        self.minhashes: list[MinHash] = []
        self._empty = MinHash(num_perm=options.num_perm)  # copies share its permutations: drawn once, not per item
        prompts: list[str] = []
        for item in eval_items:
            self._add(item)
            prompts.append(item.prompt)
        self.report.eval_items = len(self.keys)
        self.paraphrase: ParaphraseIndex | None = None
        if options.embed_url is not None:
            embedder = Embedder(options.embed_url, options.embed_model)
            try:
                self.paraphrase = ParaphraseIndex(embedder, prompts, options.paraphrase_threshold, options.embed_batch)
            except BaseException:
                embedder.close()
                raise

    @property
    def batch(self) -> int:
        """Train items checked together: an embedding batch with the paraphrase check, else one by one."""
        return self.options.embed_batch if self.paraphrase is not None else 1

    def close(self) -> None:
        if self.paraphrase is not None:
            self.paraphrase.embedder.close()

    def _minhash(self, tokens: list[str]) -> MinHash:
        k = self.options.shingle
        shingles = {" ".join(tokens[i:i + k]).encode() for i in range(max(1, len(tokens) - k + 1))}
        minhash = self._empty.copy()
        minhash.update_batch(shingles)
        return minhash

    def _add(self, item: Item) -> None:
        position = len(self.keys)
        self.keys.append(item.key)
        tokens = words(item.prompt)
        grams = ngrams(tokens, self.options.n)
        self.gram_counts.append(len(grams))
        for gram in grams:
            self.grams.setdefault(gram, []).append(position)
        if self.lsh is not None:
            self.minhashes.append(self._minhash(tokens))
            self.lsh.insert(position, self.minhashes[-1])
        if reference_in_prompt(item, self.options.max_reference_words):
            self.report.reference_in_prompt.append({"set": "eval", "item": item.key, "reference": item.reference})

    def matches(self, item: Item) -> dict[int, tuple[str, float]]:
        """The eval items one train item contaminates: eval position -> (kind, score); exact wins over near."""
        tokens = words(item.prompt)
        shared: Counter[int] = Counter()
        for gram in ngrams(tokens, self.options.n):
            shared.update(self.grams.get(gram, ()))
        found = {position: ("exact", count / self.gram_counts[position]) for position, count in shared.items()}
        threshold = self.options.near_threshold
        if self.lsh is not None and threshold is not None and tokens:
            minhash = self._minhash(tokens)
            for position in self.lsh.query(minhash):
                similarity = float(minhash.jaccard(self.minhashes[position]))
                if position not in found and similarity >= threshold:  # LSH gives candidates
                    found[position] = ("near", similarity)
        return found

    def check(self, items: list[Item]) -> list[bool]:
        """Record a batch of train items' matches and own-reference leaks; per item, whether it is contaminated."""
        similar = (self.paraphrase.matches([item.prompt for item in items]) if self.paraphrase is not None
                   else [{} for _ in items])
        flagged = []
        for item, paraphrases in zip(items, similar, strict=True):
            found = self.matches(item)
            for position, similarity in paraphrases.items():
                found.setdefault(position, ("paraphrase", similarity))
            flagged.append(self._record(item, found))
        return flagged

    def _record(self, item: Item, found: dict[int, tuple[str, float]]) -> bool:
        report = self.report
        report.train_items += 1
        for position, (kind, score) in found.items():
            key = self.keys[position]
            report.match_counts[key] += 1
            kept = report.matches.setdefault(key, [])
            if len(kept) < self.options.max_matches:
                kept.append({"train": item.key, "kind": kind, "score": round(score, 4)})
        leaks = reference_in_prompt(item, self.options.max_reference_words)
        if leaks:
            report.reference_in_prompt.append({"set": "train", "item": item.key, "reference": item.reference})
        flagged = bool(found) or leaks
        report.train_flagged += flagged
        return flagged


def check_leakage(train: Iterable[Item], eval_items: Iterable[Item], options: LeakageOptions,
                  clean_out: IO[str] | None = None) -> LeakageReport:
    """Stream `train` against the indexed `eval_items`; the rows of clean train items go to `clean_out` as JSONL.

    A train item is dropped when it matches any eval item or contains its own reference."""
    index = LeakageIndex(eval_items, options)
    try:
        for batch in batched(train, index.batch):
            for item, flagged in zip(batch, index.check(batch), strict=True):
                if not flagged and clean_out is not None:
                    clean_out.write(json.dumps(item.row, default=str) + "\n")
    finally:
        index.close()
    return index.report


def batched(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """`items` in lists of `size` (the last may be shorter), read lazily."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def items_of(paths: Iterable[Path], options: LeakageOptions) -> Iterator[Item]:
    """The items of several sources, one after another."""
    for path in paths:
        yield from read_items(path, options)


class LeakageError(RuntimeError):
    """Training refused: the training data contains too much of the eval sets its config names."""


def check_before_training(problems: Iterable[Problem], cfg: DataConfig) -> LeakageReport | None:
    """The trainer's guard (RL and SFT): the loaded prompts against `data.eval_sets`, if any are named; raises
    LeakageError above `data.leakage_max_rate` unless `data.leakage_allow`. None when no eval set is named."""
    if not cfg.eval_sets:
        return None
    options = LeakageOptions(prompt_field=cfg.prompt_field, reference_field=cfg.reference_field)
    train = (Item(f"data:{i}", p.prompt, p.reference, {}) for i, p in enumerate(problems))
    report = check_leakage(train, items_of(map(Path, cfg.eval_sets), options), options)
    log.info("leakage check against %s:\n%s", ", ".join(cfg.eval_sets), report.summary())
    if report.rate > cfg.leakage_max_rate and not cfg.leakage_allow:
        raise LeakageError(f"{report.rate:.2%} of the eval items in {', '.join(cfg.eval_sets)} are in the training "
                           f"data (above data.leakage_max_rate={cfg.leakage_max_rate}); clean it with `rlvr leakage "
                           "--write-clean`, or set data.leakage_allow=true")
    return report
