"""``text_expansion`` (ELSER-style sparse vectors): vocabulary token -> weight.

As Elasticsearch's ``TextExpansionProcessor``: only weights above zero are kept, sorted by
weight (highest first), and a vocabulary token containing ``.`` has each ``.`` replaced by
``__`` because a dot would be read as an object path when the map is indexed. Weights are
Java floats in Elasticsearch, so each is rounded to float32 and rendered by its shortest
float32 decimal form, as Jackson writes a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import as_row, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tokenizers.options import Encoding


def sanitized_vocabulary(vocabulary: Sequence[str]) -> dict[int, str]:
    """Replacement names for the tokens that contain a dot (``buildSanitizedVocabMap``)."""
    return {i: token.replace(".", "__") for i, token in enumerate(vocabulary) if "." in token}


def float32_value(weight: float) -> float:
    """The weight as Elasticsearch prints a Java float: shortest float32 decimal, as a double."""
    return float(str(np.float32(weight)))


def weighted_tokens(
    vector: np.ndarray, vocabulary: Sequence[str], replacements: Mapping[int, str]
) -> list[tuple[str, float]]:
    """``(token, weight)`` for every positive weight, highest weight first (stable on ties)."""
    if len(vector) > len(vocabulary):
        raise InvalidModelOutput(
            f"text_expansion result has [{len(vector)}] weights but the vocabulary has [{len(vocabulary)}] tokens"
        )
    pairs = [(replacements.get(i, vocabulary[i]), float32_value(w)) for i, w in enumerate(vector.tolist()) if w > 0.0]
    return sorted(pairs, key=lambda pair: -pair[1])


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``{results_field: {token: weight}}`` from the first output row."""
    if vocabulary is None:
        raise InvalidTaskOptions("text_expansion requires the model vocabulary")
    if not outputs:
        raise InvalidModelOutput("text_expansion result has no data")
    vector = as_row(outputs[0], "text_expansion")
    tokens = weighted_tokens(vector, vocabulary, sanitized_vocabulary(vocabulary))
    return with_truncation({results_field(task_options): dict(tokens)}, encodings)
