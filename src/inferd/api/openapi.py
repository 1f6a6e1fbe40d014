"""The OpenAPI description (`/_inferd/openapi.json`): every body and parameter typed and bounded.

The routes read their bodies as raw JSON and check them themselves, so that field names, unknown-field errors and
messages stay exactly Elasticsearch's; FastAPI therefore sees no body schema. This module describes what those
routes accept, with the server's limits (`Settings`) as bounds, and adds Elasticsearch's error shape as every
route's 4XX/5XX answer. It changes the description only, never how a request is parsed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from inferd.api.routes.security import MAX_KEY_NAME_LENGTH
from inferd.control.builds import MAX_BUILD_NUMBER, MAX_COMMENT_CHARS
from inferd.control.deployment_request import MAX_BATCH_DOCUMENTS, MAX_QUEUE_CAPACITY, MAX_THREADS_PER_ALLOCATION
from inferd.control.ids import ID_MAX_LENGTH
from inferd.control.security.api_key_query import BOOL_OCCURS, FIELDS, MAX_CLAUSES, MAX_RESULT_WINDOW, SORTABLE, STRING_FIELDS
from inferd.control.inference_config import MASK_TOKENS, ZERO_SHOT_LABELS, TokenizationOptions
from inferd.control.registry import MEMORY_METADATA
from inferd.settings import Settings

Schema = dict[str, Any]

MODEL_ID: Schema = {"type": "string", "pattern": r"^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$", "maxLength": ID_MAX_LENGTH}
"""An Elasticsearch model or deployment id (MlStrings)."""
TIME_VALUE: Schema = {"type": "string", "pattern": r"^(-1|0|[0-9]{1,9}(nanos|micros|ms|s|m|h|d))$", "maxLength": 16}
BYTE_SIZE: Schema = {"type": "string", "pattern": r"^(-1|0|[0-9]{1,12}(b|kb|mb|gb|tb|pb)?)$", "maxLength": 16}
SHORT_TEXT: Schema = {"type": "string", "maxLength": 1024}
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
"""What `base64.b64decode(..., validate=True)` takes: a fuzzer that only knows `contentEncoding` sends any text."""

ERROR: Schema = {
    "type": "object",
    "description": "Elasticsearch's error shape.",
    "required": ["error", "status"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["root_cause", "type", "reason"],
            "properties": {
                "root_cause": {
                    "type": "array",
                    "items": {"type": "object", "required": ["type", "reason"],
                              "properties": {"type": {"type": "string"}, "reason": {"type": "string"}}},
                },
                "type": {"type": "string"},
                "reason": {"type": "string"},
                "caused_by": {"type": "object"},
                "stack_trace": {"type": "string"},
            },
        },
        "status": {"type": "integer"},
    },
}


def _object(properties: Schema, required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _integer(minimum: int, maximum: int) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def _deployment_parameters() -> Schema:
    """`_start`'s parameters, in the query string or the body (reference §1.6)."""
    threads = [1 << power for power in range(int(math.log2(MAX_THREADS_PER_ALLOCATION)) + 1)]
    return {
        "number_of_allocations": _integer(1, 64),
        "threads_per_allocation": {"type": "integer", "enum": threads},
        "queue_capacity": _integer(1, MAX_QUEUE_CAPACITY),
        "cache_size": BYTE_SIZE,
        "priority": {"type": "string", "enum": ["normal", "low"]},
        "deployment_id": MODEL_ID,
        "wait_for": {"type": "string", "enum": ["starting", "started", "fully_allocated"]},
        "timeout": TIME_VALUE,
    }


def _adaptive_allocations() -> Schema:
    return _object({
        "enabled": {"type": "boolean"},
        "min_number_of_allocations": _integer(-1, 64),
        "max_number_of_allocations": _integer(-1, 64),
    })


def _update_options() -> Schema:
    """An `_infer` request's `inference_config`: one task, with the options a request may change (§1.9)."""
    tokenization = _object({
        kind: _object({"truncate": {"type": "string", "enum": ["first", "second", "none"]}, "span": _integer(-1, 512)})
        for kind in ("bert", "bert_ja", "mpnet", "roberta", "xlm_roberta", "deberta_v2")
    })
    labels: Schema = {"type": "array", "items": SHORT_TEXT, "maxItems": 64}
    common = {"results_field": SHORT_TEXT, "tokenization": tokenization}
    tasks = {
        "pass_through": common,
        "text_embedding": common,
        "text_expansion": common,
        "ner": common,
        "text_classification": {**common, "num_top_classes": _integer(-1, 64), "classification_labels": labels},
        "fill_mask": {**common, "num_top_classes": _integer(0, 64)},
        "zero_shot_classification": {**common, "labels": labels, "multi_label": {"type": "boolean"}},
        "question_answering": {**common, "question": SHORT_TEXT, "num_top_classes": _integer(0, 64),
                               "max_answer_length": _integer(1, 512)},
        "text_similarity": {**common, "text": SHORT_TEXT},
    }
    return _object({task: _object(options) for task, options in tasks.items()})


def _nullable(schema: Schema) -> Schema:
    """What a pydantic `X | None` field takes: X, or null (the same as leaving it out)."""
    return {"anyOf": [schema, {"type": "null"}]}


def _one_key(members: dict[str, Schema]) -> Schema:
    """Elasticsearch's one-key container (`{"ner": {...}}`): exactly one of `members`, never null."""
    return {**_object(members), "minProperties": 1, "maxProperties": 1}


STRINGS: Schema = {"type": "array", "items": {"type": "string"}}
DEFAULT_MAX_SEQUENCE_LENGTH: int = TokenizationOptions.model_fields["max_sequence_length"].default


def _tokenization(kinds: tuple[str, ...]) -> Schema:
    """`control/inference_config.py`'s Tokenization limited to `kinds`: options per tokenizer, and `span` only with
    `truncate: none` and no longer than `max_sequence_length`. That comparison spans two fields, so the description
    says the part of it a schema can: a span up to the default length with a length at least that."""
    def options(kind: str) -> Schema:
        common: Schema = {"do_lower_case": {"type": "boolean"}, "with_special_tokens": {"type": "boolean"},
                          **({"add_prefix_space": {"type": "boolean"}} if kind == "roberta" else {})}
        unspanned = _object({**common, "max_sequence_length": {"type": "integer", "minimum": 1},
                             "truncate": {"type": "string", "enum": ["first", "second", "none"]},
                             "span": {"type": "integer", "enum": [-1]}})
        spanned = _object({**common,
                           "max_sequence_length": {"type": "integer", "minimum": DEFAULT_MAX_SEQUENCE_LENGTH},
                           "truncate": {"type": "string", "enum": ["none"]},
                           "span": _integer(0, DEFAULT_MAX_SEQUENCE_LENGTH)}, ("truncate", "span"))
        return {"anyOf": [unspanned, spanned]}

    return _one_key({kind: options(kind) for kind in kinds})


def _task(options: Schema, kinds: tuple[str, ...] = tuple(MASK_TOKENS), required: tuple[str, ...] = ()) -> Schema:
    """A task's options with the fields every NLP task has (`vocabulary` is uploaded on its own, never set)."""
    return _object({"tokenization": _tokenization(kinds), "results_field": {"type": "string"}, **options}, required)


def _fill_mask() -> Schema:
    """`mask_token`, when given, must be the tokenizer's own; with no tokenization the tokenizer is BERT."""
    by_token: dict[str, tuple[str, ...]] = {}
    for kind, token in MASK_TOKENS.items():
        by_token[token] = (*by_token.get(token, ()), kind)
    branches = []
    for token, kinds in by_token.items():
        options = {"mask_token": _nullable({"type": "string", "enum": [token]}), "num_top_classes": {"type": "integer"}}
        branches.append(_task(options, kinds, () if "bert" in kinds else ("tokenization",)))
    return {"anyOf": branches}


def inference_config() -> Schema:
    """A pytorch model's `inference_config`: exactly one NLP task (tree-model tasks are refused), each with the
    options and checks of `control/inference_config.py`."""
    labels = {"type": "string", "pattern": "^(" + "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" for c in label) for label in ZERO_SHOT_LABELS) + ")$"}
    top_classes: Schema = {"type": "integer"}
    return _one_key({
        "ner": _task({"classification_labels": _nullable(STRINGS)}),
        "text_classification": _task({"classification_labels": _nullable(STRINGS), "num_top_classes": top_classes}),
        "text_embedding": _task({"embedding_size": _nullable({"type": "integer", "minimum": 1})}),
        "fill_mask": _fill_mask(),
        "zero_shot_classification": _task({
            "classification_labels": {"type": "array", "items": labels, "minItems": 3, "maxItems": 3},
            "hypothesis_template": {"type": "string"}, "multi_label": {"type": "boolean"},
            "labels": _nullable({**STRINGS, "minItems": 1}),
        }, required=("classification_labels",)),
        "question_answering": _task({"num_top_classes": top_classes,
                                     "max_answer_length": {"type": "integer", "minimum": 1},
                                     "question": _nullable({"type": "string"})}),
        "text_similarity": _task({"text": _nullable({"type": "string"}),
                                  "span_score_combination_function": {"type": "string", "enum": ["max", "mean"]}}),
        "text_expansion": _task({}),
        "pass_through": _task({}),
    })


def trained_model_config() -> Schema:
    """The body of `PUT _ml/trained_models/{model_id}` as `ModelRegistry._stored_config` takes it: a pytorch model
    (`model_type` and `inference_config` required; no `definition`, whose parts are uploaded on their own), and none
    of the fields Elasticsearch sets itself (`version`, `create_time`, ...: only null, i.e. absent, is taken). Two
    rules span the path: a `model_id` here must equal the path's, and no tag may equal it (nor an existing model's
    id)."""
    tag = {**MODEL_ID, "description": "not the model's id, nor any existing model's"}
    return _object({
        "model_id": _nullable({**MODEL_ID, "description": "the path's model_id (checked against it)"}),
        "model_type": {"type": "string", "enum": ["pytorch"]},
        "inference_config": {"$ref": "#/components/schemas/InferenceConfig"},
        "input": _object({"field_names": {**STRINGS, "minItems": 1}}, ("field_names",)),
        "description": _nullable({"type": "string"}),
        "tags": {"type": "array", "items": tag},
        "metadata": _nullable({
            "type": "object",
            "properties": {name: {"type": "integer", "minimum": 0} for name in MEMORY_METADATA},
            "propertyNames": {"not": {"enum": ["model_aliases"]}},
        }),
        "model_size_bytes": _nullable({"type": "integer", "minimum": 0}),
        "platform_architecture": _nullable({"type": "string"}),
        "prefix_strings": _nullable(_object({"ingest": _nullable({"type": "string"}),
                                             "search": _nullable({"type": "string"})})),
        "default_field_map": _nullable({"type": "object", "additionalProperties": {"type": "string"}}),
    }, ("model_type", "inference_config"))


UPDATE_API_KEY = "/_security/api_key/{id}"
API_KEY_QUERY: Schema = {"$ref": "#/components/schemas/ApiKeyQuery"}


def _api_key_query() -> Schema:
    """The query types and fields `control/security/api_key_query.py` takes; one query type per object."""
    scalar: Schema = {"oneOf": [SHORT_TEXT, {"type": "integer"}, {"type": "boolean"}]}
    one_field: dict[str, Any] = {"minProperties": 1, "maxProperties": 1}
    clauses: Schema = {"oneOf": [API_KEY_QUERY, {"type": "array", "items": API_KEY_QUERY, "maxItems": MAX_CLAUSES}]}
    return {**_object({
        "match_all": _object({"boost": {"type": "number"}}),
        "term": {**_object({field: scalar for field in FIELDS}), **one_field},
        "terms": {**_object({field: {"type": "array", "items": scalar, "maxItems": MAX_CLAUSES} for field in FIELDS}),
                  **one_field},
        "prefix": {**_object({field: SHORT_TEXT for field in STRING_FIELDS}), **one_field},
        "bool": _object({**{occur: clauses for occur in BOOL_OCCURS},
                         "minimum_should_match": _integer(0, MAX_CLAUSES), "boost": {"type": "number"}}),
    }), **one_field}


def _security_bodies() -> dict[tuple[str, str], Schema]:
    """Create, update and invalidate API keys, and Query API keys (README, Security)."""
    sort_order: Schema = {"type": "string", "enum": ["asc", "desc"]}
    sort_item: Schema = {"oneOf": [
        {"type": "string", "enum": [*SORTABLE, *(f"{field}:{order}" for field in SORTABLE for order in ("asc", "desc"))]},
        {**_object({field: {"oneOf": [sort_order, _object({"order": sort_order})]} for field in SORTABLE}),
         "minProperties": 1, "maxProperties": 1},
    ]}
    role_descriptors: Schema = {"type": "object", "maxProperties": 64, "additionalProperties": {
        "type": "object", "properties": {"cluster": {"type": "array", "items": SHORT_TEXT, "maxItems": 64}}}}
    metadata: Schema = {"type": "object", "maxProperties": 64}
    create = _object({
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_NAME_LENGTH, "pattern": r"^\S(?:[\s\S]*\S)?$"},
        "expiration": TIME_VALUE, "role_descriptors": role_descriptors, "metadata": metadata,
    }, ("name",))
    # Invalidate: by id(s), by name, by owner (username, realm) or the caller's own; ids or a name exclude an owner.
    text: Schema = {"type": "string", "minLength": 1, "maxLength": 1024}
    owned: Schema = {"owner": {"type": "boolean"}}
    invalidate: Schema = {"anyOf": [
        _object({"ids": {"type": "array", "items": text, "minItems": 1, "maxItems": 64}, **owned}, ("ids",)),
        _object({"id": text, **owned}, ("id",)),
        _object({"name": text, **owned}, ("name",)),
        {**_object({"username": text, "realm_name": text, "owner": {"type": "boolean", "enum": [False]}}),
         "minProperties": 1, "anyOf": [{"required": ["username"]}, {"required": ["realm_name"]}]},
        _object({"owner": {"type": "boolean", "enum": [True]}}, ("owner",)),
    ]}
    return {
        ("post", "/_security/api_key"): create,
        ("put", "/_security/api_key"): create,
        ("delete", "/_security/api_key"): invalidate,
        ("put", UPDATE_API_KEY): _object({
            "role_descriptors": role_descriptors, "metadata": metadata, "expiration": TIME_VALUE,
        }),
        ("post", "/_security/_query/api_key"): _object({
            "query": API_KEY_QUERY,
            "from": _integer(0, MAX_RESULT_WINDOW),
            "size": _integer(0, MAX_RESULT_WINDOW),
            "sort": {"oneOf": [sort_item, {"type": "array", "items": sort_item, "maxItems": len(SORTABLE)}]},
        }),
    }


BUILDS = "/_inferd/models/{model_id}/builds"
DEPLOYMENT = "/_inferd/deployments/{deployment_id}"
ROLLOUTS = tuple(f"{DEPLOYMENT}/_{action}" for action in ("redeploy", "rollback", "restart"))
PUT_MODEL = ("put", "/_ml/trained_models/{model_id}")
REQUIRED_BODIES = {("post", "/_security/api_key"), ("delete", "/_security/api_key")}
OPTIONAL_BODIES = {("put", BUILDS), ("put", UPDATE_API_KEY)}
ROLLOUT_WAIT: Schema = {"type": "string", "enum": ["none", "shifted", "done"]}


def _rollout_bodies(deployment: Schema) -> dict[tuple[str, str], Schema]:
    """What `_redeploy`, `_rollback` and `_restart` read (docs/rollouts.md): the rollout's own options, and for a
    re-deploy the resources `_start` takes."""
    common = {"wait_for": ROLLOUT_WAIT, "timeout": TIME_VALUE, "allow_downtime": {"type": "boolean"}}
    build = _integer(1, MAX_BUILD_NUMBER)
    resources = {name: deployment[name] for name in
                 ("number_of_allocations", "threads_per_allocation", "queue_capacity", "cache_size", "priority")}
    redeploy, rollback, restart = ROLLOUTS
    return {
        ("post", redeploy): _object({**common, "build": build, **resources,
                                     "adaptive_allocations": _adaptive_allocations(),
                                     "inferd": _object({"max_batch_documents": _integer(1, MAX_BATCH_DOCUMENTS)})}),
        ("post", rollback): _object({**common, "build": build}),
        ("post", restart): _object(common),
    }


def request_bodies(settings: Settings) -> dict[tuple[str, str], Schema]:
    """The body each route reads, keyed by (method, path)."""
    part_chars = 4 * math.ceil(settings.max_definition_part_bytes / 3)
    vocabulary_entry: Schema = {"type": "string", "minLength": 1, "maxLength": settings.max_vocabulary_entry_chars}
    deployment = _deployment_parameters()
    infer = _object(
        {
            "docs": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_infer_documents,
                "items": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {"type": "string", "maxLength": settings.max_document_chars},
                },
            },
            "inference_config": _update_options(),
        },
        ("docs",),
    )
    definition_part = _object(
        {
            "definition": {"type": "string", "contentEncoding": "base64", "pattern": BASE64, "maxLength": part_chars},
            "total_definition_length": _integer(1, settings.max_definition_bytes),
            "total_parts": _integer(1, settings.max_definition_parts),
        },
        ("definition", "total_definition_length", "total_parts"),
    )
    vocabulary = _object(
        {
            "vocabulary": {"type": "array", "minItems": 1, "maxItems": settings.max_vocabulary_size,
                           "items": vocabulary_entry},
            "merges": {"type": "array", "maxItems": settings.max_vocabulary_size, "items": vocabulary_entry},
            "scores": {"type": "array", "maxItems": settings.max_vocabulary_size, "items": {"type": "number"}},
        },
        ("vocabulary",),
    )
    models = "/_ml/trained_models/{model_id}"
    return {
        ("put", models): {"$ref": "#/components/schemas/TrainedModelConfigBody"},
        ("put", f"{models}/definition/{{part}}"): definition_part,
        ("put", f"{models}/vocabulary"): vocabulary,
        ("put", BUILDS): _object({
            "comment": {"type": "string", "maxLength": MAX_COMMENT_CHARS},
            "inference_config": {"$ref": "#/components/schemas/InferenceConfig"},
        }),
        ("put", f"{BUILDS}/{{build}}/definition/{{part}}"): definition_part,
        ("put", f"{BUILDS}/{{build}}/vocabulary"): vocabulary,
        ("post", f"{models}/deployment/_start"): _object({
            **deployment,
            "model_id": MODEL_ID,
            "adaptive_allocations": _adaptive_allocations(),
            "inferd": _object({"max_batch_documents": _integer(1, MAX_BATCH_DOCUMENTS)}),
        }),
        ("post", f"{models}/deployment/_update"): _object({
            "number_of_allocations": deployment["number_of_allocations"],
            "adaptive_allocations": _adaptive_allocations(),
        }),
        ("post", f"{models}/deployment/_stop"): _object({
            "allow_no_match": {"type": "boolean"}, "force": {"type": "boolean"}, "id": SHORT_TEXT,
        }),
        ("post", f"{models}/_infer"): infer,
        ("post", f"{models}/deployment/_infer"): infer,
        **_rollout_bodies(deployment),
        **_security_bodies(),
    }


def query_parameters() -> dict[str, Schema]:
    """Parameters the routes read as text (to answer Elasticsearch's messages), described by what they mean."""
    return {**_deployment_parameters(), "inference_threads": _integer(1, MAX_THREADS_PER_ALLOCATION),
            "model_threads": _integer(1, 64), "timeout": TIME_VALUE, "from": _integer(0, 10_000),
            "size": _integer(0, 10_000), "include": SHORT_TEXT, "tags": SHORT_TEXT}


def describe(schema: Schema, settings: Settings) -> Schema:
    """Add the bodies, parameter bounds and error shape to FastAPI's generated description."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["TrainedModelConfigBody"] = trained_model_config()
    components["InferenceConfig"] = inference_config()
    components["ElasticsearchError"] = ERROR
    components["ApiKeyQuery"] = _api_key_query()
    components.pop("HTTPValidationError", None)  # FastAPI's own shape: inferd answers Elasticsearch's instead
    components.pop("ValidationError", None)
    bodies = request_bodies(settings)
    parameters = query_parameters()
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ElasticsearchError"}}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            body = bodies.get((method, path))
            if body is not None:
                operation["requestBody"] = {
                    "required": (method == "put" and (method, path) not in OPTIONAL_BODIES) or path.endswith("/_infer")
                    or (method, path) in REQUIRED_BODIES,
                    "content": {"application/json": {"schema": body}},
                }
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "wait_for" and path in ROLLOUTS:
                    parameter["schema"] = ROLLOUT_WAIT
                elif parameter["in"] == "query" and parameter["name"] in parameters:
                    parameter["schema"] = parameters[parameter["name"]]
                elif parameter["in"] == "path" and parameter["name"] == "model_id" and (method, path) == PUT_MODEL:
                    parameter["schema"] = MODEL_ID  # a new model's id, not an expression naming existing ones
                elif parameter["in"] == "path" and parameter["name"] in ("model_id", "deployment_id", "model_alias"):
                    parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 512}
                elif parameter["in"] == "path" and parameter["name"] == "part":
                    parameter["schema"] = _integer(0, settings.max_definition_parts - 1)
                elif parameter["in"] == "path" and parameter["name"] == "build":
                    parameter["schema"] = _integer(1, MAX_BUILD_NUMBER)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # parameter errors are Elasticsearch's 400s
            responses["4XX"] = {"description": "Elasticsearch's error shape", **error}
            responses["5XX"] = {"description": "Elasticsearch's error shape", **error}
    return schema


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve the described schema from `/_inferd/openapi.json` (built once, on first use)."""
    generate: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = describe(generate(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
