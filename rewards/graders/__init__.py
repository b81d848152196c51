"""The grader registry: every kind of grader, its spec, and the discriminated union of specs.

To add a kind: write `rewards/graders/<kind>.py` with a spec (a `SpecBase` with
`type: Literal["<kind>"]`) and a `Grader` subclass with `spec_type` set, then list it in `KINDS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, TypeAdapter

from rewards.graders.base import Grader, GraderContext, PooledGrader, Resources, SpecBase
from rewards.graders.code import CodeGrader
from rewards.graders.format import FormatGrader
from rewards.graders.judge import JudgeGrader
from rewards.graders.math import MathGrader
from rewards.graders.multi import MultiGrader, MultiSpec
from rewards.graders.process import ProcessGrader
from rewards.graders.reward_model import RewardModelGrader

KINDS: tuple[type[Grader[Any]], ...] = (MathGrader, FormatGrader, MultiGrader, RewardModelGrader, ProcessGrader,
                                        JudgeGrader, CodeGrader)

GRADERS: dict[str, type[Grader[Any]]] = {cls.spec_type.model_fields["type"].default: cls for cls in KINDS}

if TYPE_CHECKING:
    GraderSpec = SpecBase  # statically any spec; at run time the union pydantic tells apart by `type`
else:
    GraderSpec = Annotated[Union[tuple(cls.spec_type for cls in KINDS)], Field(discriminator="type")]  # noqa: UP007
MultiSpec.model_rebuild(_types_namespace={"GraderSpec": GraderSpec})
spec_adapter: TypeAdapter[SpecBase] = TypeAdapter(GraderSpec)


def parse_spec(data: object) -> SpecBase:
    """Validate a spec given as a dict (raises pydantic.ValidationError)."""
    return spec_adapter.validate_python(data)


__all__ = ["GRADERS", "Grader", "GraderContext", "GraderSpec", "PooledGrader", "Resources", "SpecBase", "parse_spec"]
