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
    """`POST /v1/load_lora_adapter` (vLLM; SGLang's `/load_lora_adapter` takes the same two fields)."""

    lora_name: str = Field(min_length=1, description="The name requests choose the adapter by (`model`).")
    lora_path: str = Field(min_length=1, description="The adapter directory, on the server's filesystem.")


class UnloadLoraAdapterRequest(BaseModel):
    """`POST /v1/unload_lora_adapter` (vLLM; SGLang's `/unload_lora_adapter`)."""

    lora_name: str = Field(min_length=1)


class UpdateWeightsFromDiskRequest(BaseModel):
    """`POST /update_weights_from_disk` (SGLang): reload the base weights from a checkpoint directory."""

    model_path: str = Field(min_length=1)
