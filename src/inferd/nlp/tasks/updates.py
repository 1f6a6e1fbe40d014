"""Per-request `inference_config` overrides: which options `_infer` may change, merged over the stored ones.

Elasticsearch's update containers (NlpConfigUpdate) accept only some fields per task, and only
`truncate` and `span` of the model's own tokenizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inferd.nlp.tasks.errors import InvalidTaskOptions

UPDATABLE: Mapping[str, frozenset[str]] = {
    "pass_through": frozenset(),
    "text_embedding": frozenset(),
    "text_expansion": frozenset(),
    "ner": frozenset(),
    "text_classification": frozenset({"num_top_classes", "classification_labels"}),
    "fill_mask": frozenset({"num_top_classes"}),
    "zero_shot_classification": frozenset({"labels", "multi_label"}),
    "question_answering": frozenset({"num_top_classes", "question", "max_answer_length"}),
    "text_similarity": frozenset({"text"}),
}
COMMON = frozenset({"results_field", "tokenization"})
TOKENIZATION_UPDATABLE = frozenset({"truncate", "span"})


class TaskMismatch(InvalidTaskOptions):
    """The request names another task than the model's."""


# The type each updatable option must have (bool is refused where a number is expected).
OPTION_TYPES: Mapping[str, tuple[type, ...]] = {
    "num_top_classes": (int,),
    "max_answer_length": (int,),
    "multi_label": (bool,),
    "labels": (list,),
    "classification_labels": (list,),
    "question": (str,),
    "text": (str,),
    "results_field": (str,),
}
TRUNCATE_VALUES = ("first", "second", "none")


def apply_update(
    model_id: str, task_type: str, stored: Mapping[str, Any], update: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The task options for one request: `stored` with the request's `{task: {...}}` update applied."""
    if not update:
        return dict(stored)
    if len(update) != 1:
        raise InvalidTaskOptions("[inference_config] must contain exactly one task")
    (requested, changes), = update.items()
    if requested != task_type:
        raise TaskMismatch(
            f"Trained model [{model_id}] is configured for task [{task_type}] but called with task [{requested}]"
        )
    changes = _fields(task_type, changes, COMMON | UPDATABLE[task_type])
    for name, value in changes.items():
        expected = OPTION_TYPES.get(name)
        wrong_bool = isinstance(value, bool) and bool not in (expected or ())
        if expected and (not isinstance(value, expected) or wrong_bool):
            raise InvalidTaskOptions(f"[{task_type}] failed to parse field [{name}]")
    merged = {**stored, **{name: value for name, value in changes.items() if name != "tokenization"}}
    if "tokenization" in changes:
        merged["tokenization"] = _update_tokenization(stored.get("tokenization") or {}, changes["tokenization"])
    return merged


def _fields(owner: str, changes: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    """An update object (null means empty) holding only `allowed` fields."""
    changes = changes or {}
    if not isinstance(changes, Mapping):
        raise InvalidTaskOptions(f"[{owner}] must be an object")
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidTaskOptions(f"[{owner}] unknown field [{unknown[0]}]")
    return changes


def _update_tokenization(stored: Mapping[str, Any], update: Any) -> dict[str, Any]:
    """Only `truncate` and `span` change; a truncating update drops the stored span (as Elasticsearch)."""
    if not isinstance(update, Mapping) or len(update) != 1:
        raise InvalidTaskOptions("[tokenization] must contain exactly one tokenizer")
    (kind, changes), = update.items()
    (stored_kind, settings), = stored.items() if stored else (("bert", {}),)
    if kind != stored_kind:
        raise InvalidTaskOptions(
            f"Tokenization config of type [{stored_kind}] can not be updated with a request of type [{kind}]"
        )
    changes = _fields(kind, changes, TOKENIZATION_UPDATABLE)
    truncate = changes.get("truncate", settings.get("truncate", "first"))
    if truncate not in TRUNCATE_VALUES:
        raise InvalidTaskOptions(f"[truncate] must be one of [{', '.join(TRUNCATE_VALUES)}]; provided [{truncate}]")
    span = changes.get("span", -1 if "truncate" in changes else settings.get("span", -1))
    if isinstance(span, bool) or not isinstance(span, int) or span < -1:
        raise InvalidTaskOptions(f"[span] must be a non-negative integer or [-1]; provided [{span}]")
    limit = settings.get("max_sequence_length", 512)
    if span > limit:
        raise InvalidTaskOptions(
            f"[span] provided [{span}] must not be greater than [max_sequence_length] provided [{limit}]"
        )
    if span != -1 and truncate != "none":
        raise InvalidTaskOptions(f"[span] must not be provided when [truncate] is [{truncate}]")
    return {kind: {**settings, "truncate": truncate, "span": span}}
