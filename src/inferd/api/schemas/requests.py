"""Bodies of the model and deployment APIs besides the model config (`control/inference_config.py`) and
`_start`'s, `_update`'s and the rollouts' (`control/deployment_request.py`, `control/rollout_request.py`).

Elasticsearch's upload routes and inferd's build routes read definition parts and vocabularies with the same
functions, so both answer the same messages. Their bounds that are the server's settings are checked with
Elasticsearch's messages by the limits that hold them (`control/upload_limits.py`, `api/limits.py`); the
`*_body(limits)` functions describe each body with those same limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import Field, StrictBool

from inferd.api.limits import RequestLimits
from inferd.control.inference_config import MASK_TOKENS, describe_span
from inferd.control.request_body import Checked, OneKey, Schema, StrictBody, model_with_fields, parse_body, with_bounds
from inferd.control.upload_limits import UploadLimits
from inferd.errors import ParseError
from inferd.nlp.tasks.updates import COMMON, OPTION_TYPES, TRUNCATE_VALUES, UPDATABLE
from inferd.store import VocabularyRecord

# The store keeps lengths as 64-bit integers.
MAX_DEFINITION_LENGTH = 2**63 - 1

Part = Annotated[int, Path(le=MAX_DEFINITION_LENGTH)]
"""A definition part's number in the path."""

BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
"""What `base64.b64decode(..., validate=True)` takes (a fuzzer that only knows `contentEncoding` sends any text)."""


class DefinitionPartBody(StrictBody):
    """One part of a model's TorchScript definition, base64-encoded, with the whole definition's size."""

    definition: Annotated[str | None, Checked(required=True, contentEncoding="base64", pattern=BASE64)] = None
    total_definition_length: Annotated[int, Checked(required=True, minimum=1)] = Field(0, le=MAX_DEFINITION_LENGTH)
    total_parts: Annotated[int, Checked(required=True, minimum=1)] = Field(0, le=MAX_DEFINITION_LENGTH)


def definition_part_body(limits: UploadLimits) -> type[DefinitionPartBody]:
    """A part as the server takes it: at most `max_definition_part_bytes` once decoded (the description bounds the
    encoded text: 4 characters per 3 bytes), of a definition within its limits."""
    return with_bounds(DefinitionPartBody,
                       definition={"maxLength": 4 * (limits.max_definition_part_bytes // 3)},
                       total_definition_length={"maximum": limits.max_definition_bytes},
                       total_parts={"maximum": limits.max_definition_parts})


class VocabularyBody(StrictBody):
    """The model's vocabulary, with the merges of a BPE tokenizer and the scores of a unigram one."""

    vocabulary: Annotated[list[str] | None, Checked(required=True, minItems=1)] = None
    merges: list[str] | None = None
    scores: list[float] | None = None


def vocabulary_body(limits: UploadLimits) -> type[VocabularyBody]:
    entries: Schema = {"maxItems": limits.max_vocabulary_size}
    texts: Schema = {**entries, "items": {"maxLength": limits.max_vocabulary_entry_chars}}
    return with_bounds(VocabularyBody, vocabulary=texts, merges=texts, scores=entries)


def definition_part_of(body: Any) -> DefinitionPartBody:
    """A definition part, parsed as Elasticsearch's `put_trained_model_part_action` parser does."""
    return parse_body(DefinitionPartBody, body, "put_trained_model_part_action")


def vocabulary_of(body: Any) -> VocabularyRecord:
    """A vocabulary, parsed as Elasticsearch's `put_trained_model_vocabulary` parser does."""
    request = parse_body(VocabularyBody, body, "put_trained_model_vocabulary")
    # A null vocabulary is refused by the registry's check_vocabulary, after the model is found (404 first).
    return VocabularyRecord(request.vocabulary, request.merges, request.scores)  # type: ignore[arg-type]


STOP_PARSER = "stop_trained_model_deployment"


class StopBody(StrictBody):
    """`_stop`'s options in the body (`allow_no_match` here is taken over the query string's)."""

    allow_no_match: Annotated[StrictBool | None, Checked(nullable=False)] = None
    force: Annotated[StrictBool | None, Checked(nullable=False)] = None
    id: Annotated[Any, Checked(nullable=False, type="string")] = None


def stop_allows_no_match(body: Any, allow_no_match: bool) -> bool:
    """`_stop`'s body checked field by field, in its order, as Elasticsearch's parser does; then by its model."""
    if body is None:
        return allow_no_match
    if not isinstance(body, dict):
        raise ParseError(f"[{STOP_PARSER}] Expected START_OBJECT")
    for name, value in body.items():
        if name not in StopBody.model_fields:
            raise ParseError(f"[{STOP_PARSER}] unknown field [{name}]")
        if name != "id" and not isinstance(value, bool):
            raise ParseError(f"[{STOP_PARSER}] failed to parse field [{name}]")
    parse_body(StopBody, body, STOP_PARSER)
    return bool(body.get("allow_no_match", allow_no_match))


# --- `_infer` ------------------------------------------------------------------------------------------------
# `routes/deployments.py` reads `_infer`'s body by hand on the hot path, and `nlp/tasks/updates.py` its
# `inference_config` against the deployed model's task: these models describe what they take, built from
# `updates.py`'s own tables of which options each task lets a request change, and of what type.

DESCRIBED_TYPES: Mapping[type, Any] = {int: int, bool: bool, str: str, list: list[str]}
OPTION_BOUNDS: Mapping[str, Schema] = {"max_answer_length": {"minimum": 1}, "labels": {"minItems": 1}}
"""What the tasks check of an option beyond its type (`question_answering.py`, `zero_shot_classification.py`)."""


class TokenizationUpdate(StrictBody):
    truncate: Annotated[Literal[TRUNCATE_VALUES] | None, Checked(nullable=False)] = None  # type: ignore[valid-type]
    span: Annotated[int | None, Checked(nullable=False)] = None

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        describe_span(schema)


TokenizationUpdates = model_with_fields(  # the model's own tokenizer (checked against the stored config)
    "TokenizationUpdates", OneKey, {kind: (TokenizationUpdate | None, None) for kind in MASK_TOKENS})


def _option(name: str) -> Any:
    return Annotated[DESCRIBED_TYPES[OPTION_TYPES[name][0]] | None,
                     Checked(nullable=False, **OPTION_BOUNDS.get(name, {}))]


def _task_update(task: str) -> type[StrictBody]:
    name = "".join(word.title() for word in task.split("_")) + "Update"
    names = sorted(COMMON - {"tokenization"}) + sorted(UPDATABLE[task])
    options: dict[str, Any] = {option: (_option(option), None) for option in names}
    tokenization = Annotated[TokenizationUpdates | None, Checked(nullable=False)]  # type: ignore[valid-type]
    return model_with_fields(name, StrictBody, {"tokenization": (tokenization, None), **options})


InferenceConfigUpdate = model_with_fields(  # the deployed model's task (checked against it)
    "InferenceConfigUpdate", OneKey, {task: (_task_update(task) | None, None) for task in UPDATABLE})


class InferBody(StrictBody):
    """Documents to infer, each holding the model's input field as text, and options for this request only."""

    docs: Annotated[list[dict[str, Any]] | None, Checked(
        required=True, minItems=1, items={"additionalProperties": {"type": "string"}})] = None
    inference_config: InferenceConfigUpdate | None = None  # type: ignore[valid-type]


def infer_body(limits: RequestLimits) -> type[InferBody]:
    """At most `max_infer_documents` model inputs (a zero-shot request's documents times its labels, which the
    description cannot multiply: it bounds the documents), none longer than `max_document_chars`."""
    return with_bounds(InferBody, docs={"maxItems": limits.max_infer_documents,
                                        "items": {"additionalProperties": {"maxLength": limits.max_document_chars}}})
