"""The NLP task types a model can be imported for, with the per-task facts tracing and config need.

One table, so that adding a task is one row: which Hugging Face auto class loads it, which sample
text traces it, and which Elasticsearch tokenization defaults it overrides (eland's choices).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from inferd.importer.errors import UnsupportedModel


class TaskType(StrEnum):
    """The `inference_config` container names of Elasticsearch's NLP tasks."""

    TEXT_EMBEDDING = "text_embedding"
    TEXT_CLASSIFICATION = "text_classification"
    NER = "ner"
    FILL_MASK = "fill_mask"
    ZERO_SHOT_CLASSIFICATION = "zero_shot_classification"
    QUESTION_ANSWERING = "question_answering"
    TEXT_SIMILARITY = "text_similarity"
    TEXT_EXPANSION = "text_expansion"
    PASS_THROUGH = "pass_through"


@dataclass(frozen=True)
class TaskSpec:
    """How one task is loaded and traced, and what it changes in the tokenization config.

    `auto_class` names a `transformers` class (resolved lazily, so this module never imports it).
    `sample` is one or two texts; a `{mask}` placeholder becomes the tokenizer's mask token.
    """

    auto_class: str
    sample: tuple[str, ...]
    truncate: str = "first"
    span: int | None = None
    max_sequence_length: int | None = None
    has_labels: bool = False


_SENTENCE = ("This is an example sentence.",)
_PAIR = ("What is the meaning of life?", "The meaning of life, according to the guide, is 42.")

TASKS: dict[TaskType, TaskSpec] = {
    TaskType.TEXT_EMBEDDING: TaskSpec("AutoModel", _SENTENCE),
    TaskType.TEXT_CLASSIFICATION: TaskSpec("AutoModelForSequenceClassification", _SENTENCE, has_labels=True),
    TaskType.NER: TaskSpec(
        "AutoModelForTokenClassification",
        ("Hugging Face Inc. is a company based in New York City, close to the Manhattan Bridge.",),
        has_labels=True,
    ),
    TaskType.FILL_MASK: TaskSpec("AutoModelForMaskedLM", ("Who was Jim Henson?", "{mask} Henson was a puppeteer.")),
    TaskType.ZERO_SHOT_CLASSIFICATION: TaskSpec(
        "AutoModelForSequenceClassification",
        ("This is an example sentence.", "This example is an example."),
        has_labels=True,
    ),
    # SQuAD's well-known settings, as eland sets them: long windows, overlapping spans, no truncation.
    TaskType.QUESTION_ANSWERING: TaskSpec(
        "AutoModelForQuestionAnswering", _PAIR, truncate="none", span=128, max_sequence_length=386
    ),
    TaskType.TEXT_SIMILARITY: TaskSpec("AutoModelForSequenceClassification", _PAIR, truncate="second"),
    TaskType.TEXT_EXPANSION: TaskSpec("AutoModelForMaskedLM", _SENTENCE),
    TaskType.PASS_THROUGH: TaskSpec("AutoModel", _SENTENCE),
}

ZERO_SHOT_LABELS = frozenset({"entailment", "neutral", "contradiction"})


def parse_task_type(name: str) -> TaskType:
    """Accept `text_embedding` or eland's `text-embedding` spelling."""
    try:
        return TaskType(name.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(task.value for task in TaskType)
        raise UnsupportedModel(f"Unknown task type [{name}]; expected one of: {known}") from None
