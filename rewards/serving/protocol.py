"""The wire shapes of the model server's scoring routes, borrowed from servers that can stand in for it.

- `POST /predict` is TEI's (text-embeddings-inference) sequence-classification route: `inputs` is one
  text or a batch `[[text], ...]` (a bare two-item list is a TEI text pair, which a reward model has no
  use for); the answer is one list of `{score, label}` per input, `raw_scores: true` for logits. A
  Bradley-Terry reward model has one label, so its score is the reward.
- `POST /pooling` is vLLM's pooling route with STEP pooling (a PRM served with `step_tag_id` and, for
  a causal PRM, `returned_token_ids`): `input` is one text or a list; each result's `data` holds one
  probability row per step tag.

- `POST /v1/embeddings` is OpenAI's embeddings route (vLLM, TEI and OpenAI serve it too): `input` is one text
  or a list; each result's `embedding` is a float list (`encoding_format: float` only).

All accept `truncate_prompt_tokens` (vLLM's name; TEI ignores unknown fields): the most tokens kept
per input. Clients (`rewards.models.client`) and the server (`rewards.serving.openai_server`) share
these models, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_INPUTS = 4096  # inputs per request; a grader sends one request per batch of samples


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    inputs: str | list[str] | list[list[str]] = Field(description="A text, or a batch of one-text lists.")
    truncate: bool = Field(default=False, description="Cut inputs over the limit instead of refusing them (413).")
    raw_scores: bool = Field(default=False, description="Logits instead of sigmoid/softmax probabilities.")
    truncate_prompt_tokens: int | None = Field(default=None, ge=1, description="Most tokens kept per input.")

    def texts(self) -> tuple[list[str], bool]:
        """The input texts and whether the request was a batch; raises ValueError for text pairs."""
        if isinstance(self.inputs, str):
            return [self.inputs], False
        if all(isinstance(item, str) for item in self.inputs):
            raise ValueError("text pairs are not supported: send the rendered text, or a batch [[text], ...]")
        if any(len(item) != 1 for item in self.inputs):
            raise ValueError("text pairs are not supported: every batch item is a one-text list [text]")
        return [item[0] for item in self.inputs], True


class Prediction(BaseModel):
    score: float
    label: str


class PoolingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    input: str | list[str]
    truncate_prompt_tokens: int | None = Field(default=None, ge=1, description="Most tokens kept per input.")

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


class PoolingData(BaseModel):
    index: int
    object: Literal["pooling"] = "pooling"
    data: list[list[float]] = Field(description="One probability row per step tag, in order.")


class PoolingResponse(BaseModel):
    id: str
    object: Literal["list"] = "list"
    created: int
    model: str
    data: list[PoolingData]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # user, dimensions ... are ignored

    model: str | None = None
    input: str | list[str] = Field(description="A text or a list of texts (token-id inputs are not supported).")
    encoding_format: Literal["float"] = "float"
    truncate_prompt_tokens: int | None = Field(default=None, ge=1, description="Most tokens kept per input.")

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


class EmbeddingData(BaseModel):
    index: int
    object: Literal["embedding"] = "embedding"
    embedding: list[float]


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[EmbeddingData]
    usage: EmbeddingUsage


# ---- /v1/completions on token ids, and runtime weight updates: vLLM's shapes (SGLang's for the disk reload) ----

class CompletionLogprobs(BaseModel):
    """A choice's `logprobs`: one entry per generated token (`tokens` are "token_id:<id>" when the request
    set `return_tokens_as_token_ids`)."""

    model_config = ConfigDict(extra="ignore")

    text_offset: list[int] = Field(default_factory=list)
    token_logprobs: list[float | None] = Field(default_factory=list)
    tokens: list[str] = Field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] | None = None


class CompletionChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")  # vLLM adds stop_reason, prompt_logprobs ...

    index: int
    text: str
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | None = None
    token_ids: list[int] | None = Field(default=None, description="The completion's token ids (`return_token_ids`).")


class CompletionResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    choices: list[CompletionChoice]


class LoadLoraAdapterRequest(BaseModel):
    """`POST /v1/load_lora_adapter` (vLLM) and `POST /load_lora_adapter` (SGLang's `LoadLoRAAdapterReqInput`, in
    `sglang/srt/managers/io_struct.py`): the same two fields."""

    lora_name: str = Field(min_length=1, description="The name requests choose the adapter by (`model`).")
    lora_path: str = Field(min_length=1, description="The adapter directory, on the server's filesystem.")


class UnloadLoraAdapterRequest(BaseModel):
    """`POST /v1/unload_lora_adapter` (vLLM) and `POST /unload_lora_adapter` (SGLang's `UnloadLoRAAdapterReqInput`)."""

    lora_name: str = Field(min_length=1)


class UpdateWeightsFromDiskRequest(BaseModel):
    """`POST /update_weights_from_disk` (SGLang): reload the base weights from a checkpoint directory."""

    model_path: str = Field(min_length=1)


# ---- SGLang's native /generate on token ids (`GenerateReqInput`, `SamplingParams`, and the output dicts its
# ---- `TokenizerManager` answers with), the subset an RL trainer uses ------------------------------------------

class GenerateSamplingParams(BaseModel):
    """`sampling_params` (SGLang's `sglang/srt/sampling/sampling_params.py`): the fields served here; any other
    (top_k, min_p, penalties, grammars ...) is refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int | None = Field(default=None, ge=1, description="Default: the server's limit.")
    temperature: float = Field(default=1.0, ge=0, le=2, description="0: greedy.")
    top_p: float = Field(default=1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    stop_token_ids: list[int] | None = None
    n: int = Field(default=1, ge=1, le=64, description="Completions per prompt (SGLang's parallel sampling).")
    sampling_seed: int | None = Field(default=None, ge=0, le=2**63 - 1, strict=True,
                                      description="The request's own sampling seed (as vLLM's `seed`).")


class GenerateRequest(BaseModel):
    """`POST /generate` (SGLang's `GenerateReqInput`, `sglang/srt/managers/io_struct.py`). One prompt as token ids
    is answered with one output dict, or with a list of `n` when `sampling_params.n > 1`; a batch of prompts with
    a list, prompt by prompt, each prompt's `n` outputs together."""

    model_config = ConfigDict(extra="forbid")

    input_ids: list[int] | list[list[int]] | None = Field(default=None, description="One prompt or a batch.")
    text: str | list[str] | None = Field(default=None, description="Refused here: send token ids.")
    sampling_params: GenerateSamplingParams = Field(default_factory=GenerateSamplingParams)
    return_logprob: bool = Field(default=False, description="meta_info.output_token_logprobs: [logprob, id, text].")
    top_logprobs_num: int = Field(default=0, ge=0, le=20, description="meta_info.output_top_logprobs per token.")
    return_text_in_logprobs: bool = Field(default=False, description="Fill the text of each logprob entry.")
    lora_path: str | None = Field(default=None, description="The adapter to sample with, by its loaded name.")
    rid: str | None = None
    stream: Literal[False] = Field(default=False, description="Streaming is not supported.")

    def prompts(self) -> tuple[list[list[int]], bool]:
        """The prompts as token-id lists, and whether the request was a batch; ValueError without token ids."""
        if self.text is not None:
            raise ValueError("this server's /generate takes token ids: send the prompt as `input_ids`, not `text`")
        if not self.input_ids:
            raise ValueError("`input_ids` is missing or empty: send the prompt's token ids")
        if all(isinstance(t, int) for t in self.input_ids):
            return [[t for t in self.input_ids if isinstance(t, int)]], False
        return [p for p in self.input_ids if isinstance(p, list)], True


class GenerateFinishReason(BaseModel):
    """`meta_info.finish_reason`: {"type": "length", "length": n}, {"type": "stop", "matched": id or text}, or
    {"type": "abort", "message": ...}."""

    model_config = ConfigDict(extra="ignore")

    type: str
    matched: int | str | list[int] | None = None
    length: int | None = None
    message: str | None = None


class GenerateMetaInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")  # SGLang adds e2e_latency, cached_tokens, weight_version ...

    id: str | None = None
    finish_reason: GenerateFinishReason | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    output_token_logprobs: list[tuple[float, int, str | None]] | None = Field(
        default=None, description="Per generated token: [logprob, token_id, text or null] (`return_logprob`).")


class GenerateOutput(BaseModel):
    """One completion of `/generate`."""

    model_config = ConfigDict(extra="ignore")

    text: str | None = None  # absent when SGLang runs with --skip-tokenizer-init
    output_ids: list[int]
    meta_info: GenerateMetaInfo
