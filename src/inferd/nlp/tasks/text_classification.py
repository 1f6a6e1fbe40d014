"""``text_classification``: softmax over the class logits of the first input.

As Elasticsearch's ``TextClassificationProcessor``: the output must have one logit per
``classification_labels`` entry (labels default to ``LABEL_0..LABEL_n-1``, the names Hugging
Face gives unnamed classes), the prediction is the most probable class, and ``top_classes``
lists ``num_top_classes`` classes (``-1``: all; ``0``, the default: the field is omitted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import as_row, option_int, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tasks.scoring import argmax, softmax, top_classes
from inferd.nlp.tokenizers.options import Encoding


def class_labels(task_options: Mapping[str, Any], num_classes: int) -> list[str]:
    """The configured labels, or ``LABEL_i`` names for a model uploaded without them."""
    labels = task_options.get("classification_labels")
    if not labels:
        return [f"LABEL_{i}" for i in range(num_classes)]
    if len(labels) < 2:
        raise InvalidTaskOptions(
            "Text classification requires at least 2 [classification_labels]. "
            f"Invalid labels [{', '.join(map(str, labels))}]"
        )
    return [str(label) for label in labels]


def classify(logits: np.ndarray, labels: Sequence[str], num_top_classes: int, field: str) -> dict[str, Any]:
    """The classification result dict for one row of logits."""
    probabilities = softmax(logits)
    best = argmax(probabilities)
    result: dict[str, Any] = {field: labels[best]}
    if num_top_classes != 0:
        result["top_classes"] = top_classes(probabilities, labels, num_top_classes)
    result["prediction_probability"] = float(probabilities[best])
    return result


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Classifies the document from the first output row."""
    if not outputs or np.asarray(outputs[0]).size == 0:
        raise InvalidModelOutput("Text classification result has no data")
    logits = as_row(outputs[0], "Text classification")
    labels = class_labels(task_options, len(logits))
    if len(logits) != len(labels):
        raise InvalidModelOutput(
            f"Expected exactly [{len(labels)}] values in text classification result; got [{len(logits)}]"
        )
    num_top_classes = option_int(task_options, "num_top_classes", 0)
    result = classify(logits, labels, num_top_classes, results_field(task_options))
    return with_truncation(result, encodings)
