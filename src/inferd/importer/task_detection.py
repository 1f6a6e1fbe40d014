"""`--task-type auto`: the task read off a model's Hugging Face config, by eland's rules.

eland (`task_type_from_model_config`) matches each name in `config.architectures` against a table of
architecture name fragments, then settles the usual overlaps: a sequence classifier with one label is a
cross-encoder (`text_similarity`), one labelled entailment/neutral/contradiction is `zero_shot_classification`,
any other `text_classification`; a masked-LM is `fill_mask` unless it is a sentence-transformers model
(`text_embedding`). `text_expansion` and `pass_through` are never guessed.

Two differences, both where eland would give no usable answer: a local directory with a sentence-transformers
`modules.json` counts as a sentence-transformers model (eland only recognises the hub name
`sentence-transformers/...`), and architectures that point at unrelated tasks (say a token classifier and a
question answerer) are refused as ambiguous where eland picks one at random.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from inferd.importer.errors import UnknownTaskType
from inferd.importer.tasks import TaskType, ZERO_SHOT_LABELS

# eland's ARCHITECTURE_TO_TASK_TYPE: a fragment of an architecture's class name -> the tasks it can serve.
ARCHITECTURE_TASKS: dict[str, tuple[TaskType, ...]] = {
    "MaskedLM": (TaskType.FILL_MASK, TaskType.TEXT_EMBEDDING),
    "TokenClassification": (TaskType.NER,),
    "SequenceClassification": (
        TaskType.TEXT_CLASSIFICATION,
        TaskType.ZERO_SHOT_CLASSIFICATION,
        TaskType.TEXT_SIMILARITY,
    ),
    "QuestionAnswering": (TaskType.QUESTION_ANSWERING,),
    "DPRQuestionEncoder": (TaskType.TEXT_EMBEDDING,),
    "DPRContextEncoder": (TaskType.TEXT_EMBEDDING,),
}
SENTENCE_TRANSFORMERS_PREFIX = "sentence-transformers/"


class ModelConfig(Protocol):
    """What detection reads of a `transformers.PretrainedConfig`."""

    architectures: Sequence[str] | None
    id2label: Mapping[Any, str] | None
    label2id: Mapping[str, Any] | None


def detect_task_type(config: ModelConfig, model_name: str, *, sentence_transformers_layout: bool = False) -> TaskType:
    """The task `config` implies; `model_name` is the hub id or path the user gave (eland reads its prefix).

    Raises `UnknownTaskType` when the architectures imply no task, or unrelated ones.
    """
    sentence_transformers = sentence_transformers_layout or model_name.startswith(SENTENCE_TRANSFORMERS_PREFIX)
    architectures = list(config.architectures or ())
    candidates = {
        task
        for architecture in architectures
        for fragment, tasks in ARCHITECTURE_TASKS.items()
        if fragment in architecture
        for task in tasks
    }
    if not candidates:
        if sentence_transformers:
            return TaskType.TEXT_EMBEDDING
        raise _undetermined(model_name, architectures)
    if TaskType.TEXT_CLASSIFICATION in candidates and config.id2label and len(config.id2label) == 1:
        return TaskType.TEXT_SIMILARITY
    if TaskType.ZERO_SHOT_CLASSIFICATION in candidates:
        candidates -= set(ARCHITECTURE_TASKS["SequenceClassification"])
        labels = {str(label).lower() for label in (config.label2id or {})}
        candidates.add(
            TaskType.ZERO_SHOT_CLASSIFICATION if labels and labels <= ZERO_SHOT_LABELS else TaskType.TEXT_CLASSIFICATION
        )
    if TaskType.FILL_MASK in candidates:
        candidates -= set(ARCHITECTURE_TASKS["MaskedLM"])
        candidates.add(TaskType.TEXT_EMBEDDING if sentence_transformers else TaskType.FILL_MASK)
    if len(candidates) > 1:
        raise _undetermined(model_name, architectures, candidates)
    return candidates.pop()


def _undetermined(
    model_name: str, architectures: list[str], candidates: set[TaskType] | None = None
) -> UnknownTaskType:
    found = f"architectures {architectures}" if architectures else "no architectures in its config"
    if candidates:
        found += f", which suggest several tasks: {', '.join(sorted(candidates))}"
    return UnknownTaskType(
        f"Unable to automatically determine task type for model [{model_name}] ({found}); "
        f"pass --task-type, one of: {', '.join(sorted(TaskType))}"
    )
