"""The two server APIs' request bodies and answer readers (`trainer.server_api`), on answers written as vLLM and
SGLang send them (SGLang's extra meta_info fields included); the routes themselves run end to end against
serve-model in test_server_backend.py."""

from __future__ import annotations

from typing import Any

import pytest

from trainer.server_api import API, RolloutRequest, ServerError


def sglang_output(ids: list[int], finish: dict[str, Any], logprobs: list[float] | None = None) -> dict[str, Any]:
    """One output as SGLang's TokenizerManager answers /generate with return_logprob."""
    meta: dict[str, Any] = {"id": "a1", "finish_reason": finish, "prompt_tokens": 3, "completion_tokens": len(ids),
                            "cached_tokens": 2, "e2e_latency": 0.01, "weight_version": "default"}
    if logprobs is not None:
        meta["output_token_logprobs"] = [[lp, t, None] for lp, t in zip(logprobs, ids, strict=True)]
    return {"text": "x", "output_ids": ids, "meta_info": meta}


REQUEST = RolloutRequest([1, 2, 3], n=2, max_new_tokens=8, temperature=0.7, top_p=0.9, stop=["\n"],
                         model="rlvr-1-step2", adapter="rlvr-1-step2")


def test_request_bodies_name_the_adapter_each_api_its_own_way() -> None:
    sglang = API["sglang"].body(REQUEST)
    assert sglang == {"input_ids": [1, 2, 3], "return_logprob": True, "lora_path": "rlvr-1-step2",
                      "sampling_params": {"n": 2, "max_new_tokens": 8, "temperature": 0.7, "top_p": 0.9,
                                          "stop": ["\n"]}}
    base = RolloutRequest([1], 1, 8, 1.0, 1.0, [], model="policy", adapter=None)
    assert "lora_path" not in API["sglang"].body(base) and API["sglang"].body(base)["sampling_params"]["stop"] is None
    vllm = API["vllm"].body(REQUEST)
    assert vllm["model"] == "rlvr-1-step2" and vllm["prompt"] == [1, 2, 3] and vllm["n"] == 2
    assert vllm["logprobs"] == 0 and vllm["return_token_ids"] and vllm["max_tokens"] == 8


def test_sglang_answers_read_as_completions() -> None:
    read = API["sglang"].read
    [one] = read(sglang_output([5, 6], {"type": "stop", "matched": 2}, [-0.5, -0.25]))  # n = 1: a bare dict
    assert (one.token_ids, one.logprobs, one.truncated) == ([5, 6], [-0.5, -0.25], False)
    two = read([sglang_output([7], {"type": "length", "length": 1}, [-1.0]),
                sglang_output([8, 9], {"type": "stop", "matched": "\n"}, [-2.0, -3.0])])
    assert [(c.token_ids, c.truncated) for c in two] == [([7], True), ([8, 9], False)]


@pytest.mark.parametrize(("answer", "reason"), [
    (sglang_output([5], {"type": "stop", "matched": 2}), "return_logprob"),
    ({**sglang_output([5, 6], {"type": "stop", "matched": 2}, [-0.5, -0.25]), "output_ids": [5, 7]}, "disagree"),
    (sglang_output([], {"type": "abort", "message": "out of memory"}, []), "out of memory"),
])
def test_sglang_answers_without_usable_ids_and_logprobs_are_refused(answer: dict[str, Any], reason: str) -> None:
    with pytest.raises(ServerError, match=reason):
        API["sglang"].read(answer)


def test_vllm_answers_read_ids_from_either_field() -> None:
    def choice(i: int, **extra: Any) -> dict[str, Any]:
        return {"index": i, "text": "x", "finish_reason": "length" if i else "stop", "stop_reason": None,
                "logprobs": {"text_offset": [], "token_logprobs": [-0.5], "tokens": ["token_id:42"],
                             "top_logprobs": None}, **extra}
    completions = API["vllm"].read({"id": "c", "model": "m", "choices": [choice(1), choice(0, token_ids=[42])]})
    assert [(c.token_ids, c.logprobs, c.truncated) for c in completions] == [([42], [-0.5], False),
                                                                            ([42], [-0.5], True)]
