"""Softmax, arg-max and top-k exactly as Elasticsearch's ``NlpHelpers`` and ``InferenceHelpers``.

Tie-breaking matters for byte-identical results: the first index wins ties, and top-k
lists are ordered by score, earlier index first on equal scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the max as ``convertToProbabilitiesBySoftMax``."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return probabilities


def argmax(values: np.ndarray) -> int:
    """Index of the highest value; the first on ties (numpy agrees with ``NlpHelpers.argmax``)."""
    return int(np.argmax(values))


def top_k(values: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest values, highest first; ``k < 0`` means all of them."""
    count = len(values) if k < 0 else min(k, len(values))
    order = sorted(range(len(values)), key=lambda i: -float(values[i]))  # stable: lower index on ties
    return order[:count]


def top_classes(probabilities: np.ndarray, labels: Sequence[str], count: int) -> list[dict[str, Any]]:
    """``top_classes`` entries; without class weights the score equals the probability (ES)."""
    return [
        {
            "class_name": labels[i],
            "class_probability": float(probabilities[i]),
            "class_score": float(probabilities[i]),
        }
        for i in top_k(probabilities, count)
    ]
