"""``text_similarity``: one relevance score per document, combined over its spans.

A long document is split into spans, each scored against the query ``text``; Elasticsearch's
``TextSimilarityProcessor`` combines them with ``span_score_combination_function``: ``max``
(the default) or ``mean``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import as_row, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tokenizers.options import Encoding

COMBINATIONS = ("max", "mean")


def combine(scores: Sequence[float], function: str) -> float:
    """Max or mean of the span scores."""
    if function == "max":
        return float(max(scores))
    if function == "mean":
        return float(sum(scores) / len(scores))
    raise InvalidTaskOptions(
        f"unknown [span_score_combination_function] [{function}]; expected one of {list(COMBINATIONS)}"
    )


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The first logit of every span's output, combined into ``{results_field: score}``."""
    if not outputs:
        raise InvalidModelOutput("text_similarity result has no data")
    scores = [float(as_row(output, "text_similarity")[0]) for output in outputs]
    function = str(task_options.get("span_score_combination_function") or "max").lower()
    return with_truncation({results_field(task_options): combine(scores, function)}, encodings)
