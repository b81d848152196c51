"""Find the program a completion presents as its answer, for the code grader. Pure functions: nothing is run.

Modes: `auto` (find the intended program among the completion's blocks, by the names the tests use, or as
the program for io tests), `continuation` (a base model's bare continuation of the prefix, cut at the usual
stop sequences), `last_fence` (the last block tagged with the language, else the last untagged one, else the
whole text) and `whole` (the completion as is). `extract` returns the code (None when the completion
presents no program) and details saying which blocks were used and why, and what was dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rewards.graders.codeextract import langs
from rewards.graders.codeextract.continuation import Body, split_body
from rewards.graders.codeextract.fences import (
    Block,
    blank_html_comments,
    find_blocks,
    hidden_or_disowned,
    indented_blocks,
    last_fence,
    outside_blocks,
)
from rewards.graders.codeextract.program import Choice, Source, as_program, by_names
from rewards.graders.codeextract.python import declared_names, names_used_by_test, quoted_definitions

# a line outside fences where the model goes on to write the next turn of the chat itself
_TURN = re.compile(r"^[ \t]*(?:(?:user|human|assistant|system)[ \t]*:?|<\|(?:im_start|im_end|endoftext|eot_id|user)\|>.*"
                   r"|\[INST\].*|</s>.*|#{2,3}[ \t]*(?:instruction|human|user)[ \t]*:?)[ \t]*$",
                   re.IGNORECASE | re.MULTILINE)

__all__ = ["Extraction", "extract", "last_fence"]


@dataclass
class Extraction:
    """The code to run (None: the completion presents no program) and `details.extraction`."""

    code: str | None
    details: dict[str, Any] = field(default_factory=dict)


def _target_names(tests: list[dict[str, Any]], prefix: str, language: str) -> set[str] | None:
    """Names the tests reach in the solution (call fn_name, names a script test uses, what the prefix
    declares); None when the tests look at the program as a whole (io tests)."""
    if not tests or any(t.get("type") == "io" for t in tests):
        return None
    names: set[str] = set()
    for test in tests:
        if test.get("type") == "call":
            names.add(str(test.get("fn_name", "")).split(".")[0])
        elif test.get("type") == "script":
            code = str(test.get("code", ""))
            names |= names_used_by_test(code) if language == "python" else langs.test_names(language, code)[0]
    if language == "python":
        names |= declared_names(prefix)
    return names or None


_EOS = re.compile(r"<\|(?:endoftext|end_of_text|im_end|eot_id|end|EOT|eos)\|>|<｜end▁of▁sentence｜>")


def before_eos(completion: str) -> tuple[str, str | None]:
    """The completion up to an end-of-sequence token left in the text (generation ended there), and the token."""
    match = _EOS.search(completion)
    return (completion[:match.start()], match.group(0)) if match else (completion, None)


def after_thinking(completion: str) -> tuple[str, str | None]:
    """A reasoning model's answer: the text after its last `</think>` (drafts in the thinking are not the
    answer); nothing when it opened `<think>` and never closed it (cut off while thinking)."""
    end = completion.rfind("</think>")
    if end >= 0:
        return completion[end + len("</think>"):], "after </think>"
    if "<think>" in completion:
        return "", "cut off while thinking (<think> never closed)"
    return completion, None


def own_turn(completion: str) -> tuple[str, str | None]:
    """The completion up to a chat turn it goes on to write itself (a hallucinated `user` message with a new
    question and new programs is not the answer to this one), and the line it was cut at."""
    prose = outside_blocks(completion, find_blocks(completion))
    first = len(completion) - len(completion.lstrip())  # where the text proper starts
    for match in _TURN.finditer(prose):
        if match.start() > first:
            return completion[:match.start()], match.group(0).strip()
    return completion, None


def _candidates(completion: str, language: str, details: dict[str, Any]) -> tuple[list[Block], str]:
    """(blocks that may hold the answer in the language, the text outside them with what is not presented as
    the answer blanked); blocks tagged as something else or hidden/disowned are noted in `details`."""
    blocks = find_blocks(completion)
    skipped = hidden_or_disowned(completion, blocks)
    others = [b for b in blocks if b.is_other_language(language)]
    keep = [b for b in blocks if not b.is_other_language(language) and b.index not in skipped]
    if others:
        details["other_language_blocks"] = [b.index for b in others]
    if skipped:
        details["skipped_blocks"] = [{"index": i, "why": why} for i, why in sorted(skipped.items())]
    kept = {b.index for b in keep}
    outside = outside_blocks(completion, [b for b in blocks if b.index not in kept])
    return keep, blank_html_comments(outside)


@lru_cache(maxsize=256)
def _quoted(prompt: str, prefix: str) -> frozenset[str]:
    """The definitions written in the prompt (and the reference's prefix): never the model's answer."""
    texts = [prompt, prefix] + [b.body for b in find_blocks(prompt)]
    return frozenset(quoted_definitions([t for t in texts if t.strip()]))


def _python(completion: str, tests: list[dict[str, Any]], prefix: str, prompt: str, mode: str) -> Extraction:
    details: dict[str, Any] = {"mode": mode}
    quoted = set(_quoted(prompt, prefix))
    names = _target_names(tests, prefix, "python")
    if mode == "continuation":
        body = split_body(prefix, completion)
        if isinstance(body, Body):
            details["joined_to_prefix"] = body.name
            sources = [Source(0, "continuation", completion)]
        elif isinstance(body, str):
            return Extraction(None, {**details, "reason": body})
        else:
            details["note"] = "the completion does not continue the prefix's open function; read as an answer"
            sources = [Source(0, "", completion)]
    else:
        completion, turn = own_turn(completion)
        if turn is not None:
            details["cut_at_turn"] = turn
        blocks, text = _candidates(completion, "python", details)
        sources = [Source(b.index, b.tag, b.body) for b in blocks]
        if any(not b.closed for b in blocks):
            details["unclosed_fence"] = True
        if not blocks:
            sources = [Source(-1, "(no fence)", text)] + [
                Source(k, "(indented)", body) for k, body in enumerate(indented_blocks(text))]
    stream = mode == "continuation"
    choice: Choice = as_program(sources, prefix, quoted, stream) if names is None else by_names(
        sources, names, prefix, quoted, stream)
    if choice.missing and names is not None and mode == "auto" and sources and sources[0].index >= 0:
        # nothing defined in the fences: the answer may be unfenced code between them
        outside = [Source(-1, "(outside fences)",
                          blank_html_comments(outside_blocks(completion, find_blocks(completion))))]
        retry = by_names(outside, names, prefix, quoted)
        if retry.code is not None:
            choice = retry
    return _finish(details, choice, names)


def _finish(details: dict[str, Any], choice: Choice, names: set[str] | None) -> Extraction:
    details["looked_for"] = sorted(names) if names is not None else "a program (io tests)"
    details["blocks"] = [{"index": i, "reasons": r} for i, r in sorted(choice.used.items())]
    if choice.dropped:
        details["dropped"] = choice.dropped
    if choice.reason:
        details["reason"] = choice.reason
    return Extraction(choice.code if choice.code and choice.code.strip() else None, details)


def extract(completion: str, *, language: str, mode: str, tests: list[dict[str, Any]] | None = None,
            prefix: str = "", prompt: str = "") -> Extraction:
    """The program in `completion` to run after `prefix` against `tests` (see the module docstring). Code
    nested too deeply for the analysis is dropped where it is found; should any still reach past that, the
    completion presents no program (a 0 with the reason, never a failure of the grader)."""
    try:
        return _extract(completion, language, mode, tests or [], prefix, prompt)
    except (RecursionError, MemoryError) as exc:
        return Extraction(None, {"mode": mode, "reason": f"the code is nested too deeply to analyse ({exc!r})"})


def _extract(completion: str, language: str, mode: str, tests: list[dict[str, Any]], prefix: str,
             prompt: str) -> Extraction:
    if mode == "whole":
        return Extraction(completion, {"mode": "whole"})
    if mode == "last_fence":
        return Extraction(last_fence(completion, language), {"mode": "last_fence"})
    completion, thinking = after_thinking(completion)
    if thinking is not None:
        found = _extract(completion, language, mode, tests, prefix, prompt)
        found.details["thinking"] = thinking
        return found
    completion, eos = before_eos(completion)
    if eos is not None:
        found = _extract(completion, language, mode, tests, prefix, prompt)
        found.details["cut_at_eos"] = eos
        return found
    if language == "python":
        return _python(completion, tests, prefix, prompt, mode)
    if not langs.supported(language):
        return Extraction(last_fence(completion, language), {"mode": "last_fence",
                                                             "note": f"no analysis for {language}"})
    completion, turn = own_turn(completion)
    details: dict[str, Any] = {"mode": mode} | ({"cut_at_turn": turn} if turn is not None else {})
    blocks, text = _candidates(completion, language, details)
    sources = [(b.index, b.body) for b in blocks] or [(-1, text)]
    names = _target_names(tests, prefix, language)
    test_defines = frozenset().union(*(langs.test_names(language, str(t.get("code", "")))[1]
                                       for t in tests if t.get("type") == "script"))
    quoted = langs.quoted_functions(language, [prompt] + [b.body for b in find_blocks(prompt)]) if prompt else \
        frozenset()
    return _finish(details, langs.choose(language, sources, names, test_defines, quoted), names)
