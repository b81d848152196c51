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
