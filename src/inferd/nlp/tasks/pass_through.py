"""``pass_through``: the raw output tensor of the first input, as nested lists.

Elasticsearch returns ``inferenceResult[0]`` untouched (``PassThroughProcessor``), so a model
answering ``[[1.0, 1.0]]`` yields ``{"predicted_value": [[1.0, 1.0]]}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput
from inferd.nlp.tokenizers.options import Encoding


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The first output as a 2-D list of floats (a 1-D output becomes one row)."""
    if not outputs:
        raise InvalidModelOutput("pass_through result has no data")
    tensor = np.atleast_2d(np.asarray(outputs[0], dtype=np.float64))
    return with_truncation({results_field(task_options): tensor.tolist()}, encodings)
