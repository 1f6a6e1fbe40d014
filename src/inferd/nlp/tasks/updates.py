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
    changes = changes or {}
    unknown = sorted(set(changes) - COMMON - UPDATABLE[task_type])
    if unknown:
        raise InvalidTaskOptions(f"[{task_type}] unknown field [{unknown[0]}]")
    merged = {**stored, **{name: value for name, value in changes.items() if name != "tokenization"}}
    if "tokenization" in changes:
        merged["tokenization"] = _update_tokenization(stored.get("tokenization") or {}, changes["tokenization"])
    return merged


def _update_tokenization(stored: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(update, Mapping) or len(update) != 1:
        raise InvalidTaskOptions("[tokenization] must contain exactly one tokenizer")
    (kind, changes), = update.items()
    (stored_kind, settings), = stored.items() if stored else (("bert", {}),)
    if kind != stored_kind:
        raise InvalidTaskOptions(
            f"Tokenization config of type [{kind}] can not update the model's tokenization of type [{stored_kind}]"
        )
    unknown = sorted(set(changes or {}) - TOKENIZATION_UPDATABLE)
    if unknown:
        raise InvalidTaskOptions(f"[{kind}] unknown field [{unknown[0]}]")
    return {kind: {**settings, **(changes or {})}}
