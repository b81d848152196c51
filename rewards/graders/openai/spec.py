"""What every OpenAI grader object has here: OpenAI's `name`, and templates checked when the spec is read."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from rewards.graders.base import SpecBase
from rewards.graders.openai.templates import check_template

Template = Annotated[str, Field(max_length=1_000_000), AfterValidator(check_template)]


class OpenAISpec(SpecBase):
    """An OpenAI grader object: its fields as OpenAI documents them, plus our `timeout_s`."""

    name: str | None = Field(default=None, max_length=256, description="OpenAI's grader name; kept, not used.")
