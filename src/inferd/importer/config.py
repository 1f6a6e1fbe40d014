"""The body of `PUT _ml/trained_models/{id}`: what eland sends for a traced NLP model.

`{description, model_type: "pytorch", inference_config: {<task>: {tokenization, ...}}, input:
{field_names: ["text_field"]}, metadata: {per_deployment_memory_bytes, per_allocation_memory_bytes}}`, and
`prefix_strings: {ingest, search}` when either prefix is given (eland's `--ingest-prefix`/`--search-prefix`).
Only fields eland sends are set; the server fills in Elasticsearch's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inferd.importer.errors import UnsupportedModel
from inferd.importer.tasks import TASKS, ZERO_SHOT_LABELS, TaskType

INPUT_FIELD = "text_field"


@dataclass(frozen=True)
class PrefixStrings:
    """Text the server puts before each input: at ingest, and at search (e.g. E5's "passage: ", "query: ")."""

    ingest: str | None = None
    search: str | None = None

    def as_config(self) -> dict[str, str] | None:
        """The `prefix_strings` object with the prefixes given; None (nothing sent) unless one is non-empty (eland's
        rule)."""
        if not (self.ingest or self.search):
            return None
        return {name: value for name, value in (("ingest", self.ingest), ("search", self.search)) if value is not None}


def classification_labels(id2label: Mapping[Any, str], task_type: TaskType) -> list[str] | None:
    """Labels in id order, `-` made `_` (I-PER becomes I_PER, as eland writes them); None for tasks without labels."""
    if not TASKS[task_type].has_labels:
        return None
    labels = [label for _, label in sorted(id2label.items(), key=lambda item: int(item[0]))]
    labels = [label.replace("-", "_") for label in labels]
    if task_type is TaskType.ZERO_SHOT_CLASSIFICATION and {label.lower() for label in labels} != ZERO_SHOT_LABELS:
        raise UnsupportedModel(
            f"A zero_shot_classification model must be an NLI model labelled {sorted(ZERO_SHOT_LABELS)}; "
            f"this one has {labels}"
        )
    return labels


def model_config(
    task_type: TaskType,
    tokenization: dict[str, dict[str, Any]],
    *,
    description: str,
    per_deployment_memory_bytes: int,
    per_allocation_memory_bytes: int,
    labels: list[str] | None = None,
    embedding_size: int | None = None,
    prefix_strings: PrefixStrings | None = None,
) -> dict[str, Any]:
    """The complete PUT body for one traced model."""
    options: dict[str, Any] = {"tokenization": tokenization}
    if labels is not None:
        options["classification_labels"] = labels
    if task_type is TaskType.TEXT_EMBEDDING:
        if embedding_size is None:
            raise ValueError("a text_embedding config needs its embedding_size")
        options["embedding_size"] = embedding_size
    config: dict[str, Any] = {
        "description": description,
        "model_type": "pytorch",
        "inference_config": {task_type.value: options},
        "input": {"field_names": [INPUT_FIELD]},
        "metadata": {
            "per_deployment_memory_bytes": per_deployment_memory_bytes,
            "per_allocation_memory_bytes": per_allocation_memory_bytes,
        },
    }
    prefixes = prefix_strings.as_config() if prefix_strings else None
    if prefixes is not None:
        config["prefix_strings"] = prefixes
    return config
