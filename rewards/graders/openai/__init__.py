"""OpenAI's RFT grader objects, run as they are: one module per kind, each reusing our graders' parts.

string_check and text_similarity (format checks' comparisons and metrics), score_model and label_model
(our judge), python (our sandbox), multi (our multi grader and formula). The templates
`{{sample.output_text}}`, `{{sample.output_json}}` and `{{item.*}}` are filled by `templates`.
"""

from __future__ import annotations

from rewards.graders.openai.label_model import LabelModelGrader
from rewards.graders.openai.multi import as_our_multi, is_openai_multi
from rewards.graders.openai.python import PythonGrader
from rewards.graders.openai.score_model import ScoreModelGrader
from rewards.graders.openai.string_check import StringCheckGrader
from rewards.graders.openai.text_similarity import TextSimilarityGrader

OPENAI_KINDS = (StringCheckGrader, TextSimilarityGrader, ScoreModelGrader, LabelModelGrader, PythonGrader)

__all__ = ["OPENAI_KINDS", "as_our_multi", "is_openai_multi"]
