"""The grader registry: every kind of grader, its spec, and the discriminated union of specs.

To add a kind: write `rewards/graders/<kind>.py` with a spec (a `SpecBase` with
`type: Literal["<kind>"]`) and a `Grader` subclass with `spec_type` set, then list it in `KINDS`.

OpenAI's grader objects (rewards.graders.openai) are kinds too. Their `multi` shares its type with ours
and is told apart by shape (`calculate_output` where ours has `formula`), then read as ours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BeforeValidator, Discriminator, Tag, TypeAdapter

from rewards.graders.base import Grader, GraderContext, PooledGrader, Resources, SpecBase
from rewards.graders.code import CodeGrader
from rewards.graders.format import FormatGrader
from rewards.graders.judge import JudgeGrader
from rewards.graders.math import MathGrader
from rewards.graders.multi import MultiGrader, MultiSpec
from rewards.graders.openai import OPENAI_KINDS, as_our_multi, is_openai_multi
from rewards.graders.process import ProcessGrader
from rewards.graders.reward_model import RewardModelGrader

KINDS: tuple[type[Grader[Any]], ...] = (MathGrader, FormatGrader, MultiGrader, RewardModelGrader, ProcessGrader,
                                        JudgeGrader, CodeGrader, *OPENAI_KINDS)

GRADERS: dict[str, type[Grader[Any]]] = {cls.spec_type.model_fields["type"].default: cls for cls in KINDS}

OPENAI_MULTI = "multi (OpenAI's shape)"


def _kind(data: Any) -> str | None:
    """The union member a spec is: its `type`, except that OpenAI's multi has a tag of its own."""
    if is_openai_multi(data):
        return OPENAI_MULTI
    kind = data.get("type") if isinstance(data, dict) else getattr(data, "type", None)
    return kind if isinstance(kind, str) else None


if TYPE_CHECKING:
    GraderSpec = SpecBase  # statically any spec; at run time the union pydantic tells apart by `type`
else:
    GraderSpec = Annotated[
        Union[(*(Annotated[cls.spec_type, Tag(kind)] for kind, cls in GRADERS.items()),  # noqa: UP007
               Annotated[MultiSpec, BeforeValidator(as_our_multi), Tag(OPENAI_MULTI)])],
        Discriminator(_kind, custom_error_type="grader_type",
                      custom_error_message=f"'type' must be one of: {', '.join(GRADERS)}"),
    ]
MultiSpec.model_rebuild(_types_namespace={"GraderSpec": GraderSpec})
spec_adapter: TypeAdapter[SpecBase] = TypeAdapter(GraderSpec)


def parse_spec(data: object) -> SpecBase:
    """Validate a spec given as a dict (raises pydantic.ValidationError)."""
    return spec_adapter.validate_python(data)


__all__ = ["GRADERS", "Grader", "GraderContext", "GraderSpec", "PooledGrader", "Resources", "SpecBase", "parse_spec"]
