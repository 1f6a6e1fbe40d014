"""``zero_shot_classification``: NLI logits, one input per candidate label.

Each label is paired with the document as ``hypothesis_template.format(label)`` and the
NLI model answers three logits per pair. ``classification_labels`` tells which logit is
entailment and which contradiction. As Elasticsearch's ``ZeroShotClassificationProcessor``:
with ``multi_label`` each label is scored alone (softmax over its [entailment, contradiction]
pair), otherwise the labels compete (softmax over their entailment logits); every label is
returned in ``top_classes``, most probable first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import as_row, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tasks.scoring import softmax, top_classes
from inferd.nlp.tokenizers.options import Encoding

DEFAULT_HYPOTHESIS_TEMPLATE = "This example is {}."


def hypotheses(task_options: Mapping[str, Any]) -> list[str]:
    """The hypothesis sentence for each label, in label order (the second text of each pair)."""
    template = task_options.get("hypothesis_template") or DEFAULT_HYPOTHESIS_TEMPLATE
    return [template.replace("{}", label) for label in candidate_labels(task_options)]


def candidate_labels(task_options: Mapping[str, Any]) -> list[str]:
    """``labels`` are required at infer time."""
    labels = task_options.get("labels")
    if not labels:
        raise InvalidTaskOptions("zero_shot_classification requires non-empty [labels]")
    return [str(label) for label in labels]


def nli_positions(task_options: Mapping[str, Any]) -> tuple[int, int]:
    """Indices of the entailment and contradiction logits, from ``classification_labels``."""
    labels = [str(label).lower() for label in task_options.get("classification_labels") or ()]
    if "entailment" not in labels or "contradiction" not in labels:
        raise InvalidTaskOptions(
            "zero_shot_classification requires [classification_labels] to contain [entailment] and [contradiction]"
        )
    return labels.index("entailment"), labels.index("contradiction")


def label_scores(rows: np.ndarray, entailment: int, contradiction: int, multi_label: bool) -> np.ndarray:
    """Per-label probabilities from the ``(labels, 3)`` NLI logits."""
    if multi_label:
        return softmax(rows[:, [entailment, contradiction]])[:, 0]
    return softmax(rows[:, entailment])


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Ranks ``labels`` from the NLI outputs (one output per label, in label order)."""
    labels = candidate_labels(task_options)
    entailment, contradiction = nli_positions(task_options)
    if not outputs:
        raise InvalidModelOutput("Zero shot classification result has no data")
    if len(outputs) != len(labels):
        raise InvalidModelOutput(
            f"Expected exactly [{len(labels)}] values in zero shot classification result; got [{len(outputs)}]"
        )
    rows = [as_row(output, "zero shot classification") for output in outputs]
    for row in rows:
        if len(row) != 3:
            raise InvalidModelOutput(
                f"Expected exactly [3] values in inner zero shot classification result; got [{len(row)}]"
            )
    scores = label_scores(np.stack(rows), entailment, contradiction, bool(task_options.get("multi_label")))
    ranked = top_classes(scores, labels, -1)
    result: dict[str, Any] = {
        results_field(task_options): ranked[0]["class_name"],
        "top_classes": ranked,
        "prediction_probability": ranked[0]["class_probability"],
    }
    return with_truncation(result, encodings)
