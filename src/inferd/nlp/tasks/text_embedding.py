"""``text_embedding``: the sentence vector of the first input.

Elasticsearch's ``TextEmbeddingProcessor`` takes ``inferenceResult[0][0]``: the model pools
by itself, so the output per document is one row. ``embedding_size``, when configured, is
checked here so a wrongly declared model fails loudly instead of indexing short vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput
from inferd.nlp.tokenizers.options import Encoding


def embedding_vector(output: np.ndarray) -> list[float]:
    """The first row of one output (``(dim,)`` or ``(rows, dim)``) as floats, converted from the model's own dtype:
    each float32 becomes the same Python float a float64 copy would give, without the copy."""
    array = np.asarray(output)
    if array.ndim == 0 or array.size == 0:
        raise InvalidModelOutput("text_embedding result has no data")
    row = array if array.ndim == 1 else array.reshape(-1, array.shape[-1])[0]
    floats: list[float] = row.tolist()  # Python floats, in C: a per-element loop cost a request about 0.1 ms at low load
    return floats


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``{results_field: [float, ...]}``, checked against ``embedding_size`` when set."""
    if not outputs:
        raise InvalidModelOutput("text_embedding result has no data")
    vector = embedding_vector(outputs[0])
    expected = task_options.get("embedding_size")
    if expected is not None and len(vector) != int(expected):
        raise InvalidModelOutput(
            f"the model returned an embedding of size [{len(vector)}] "
            f"but the configured [embedding_size] is [{int(expected)}]"
        )
    return with_truncation({results_field(task_options): vector}, encodings)
