"""The OpenAPI description (`/_inferd/openapi.json`): FastAPI's, with each route's body described by the model
the route reads it with, bounded by the running server's limits.

The routes read their bodies as raw JSON and check them through their models (`control/request_body.py`), so that
field names, unknown-field errors and messages stay exactly Elasticsearch's; FastAPI therefore sees no body. Each
body's description is its model's JSON schema. What this module adds by hand: which route reads which body,
Elasticsearch's error shape as every route's 4XX/5XX answer, and the bounds of the parameters no model types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema

from inferd.api.limits import RequestLimits
from inferd.api.routes.trained_models import INCLUDE_OPTIONS, MAX_RESULT_WINDOW
from inferd.api.schemas.build import BuildBody
from inferd.api.schemas.embedding_apis import EmbedBody, EmbeddingsBody, RerankBody
from inferd.api.schemas.ingest import PipelineBody, SimulateBody
from inferd.api.schemas.requests import StopBody, definition_part_body, infer_body, vocabulary_body
from inferd.api.schemas.security import (
    CreateApiKeyBody,
    InvalidateApiKeyBody,
    PutUserBody,
    QueryApiKeyBody,
    UpdateApiKeyBody,
)
from inferd.control.builds import MAX_BUILD_NUMBER
from inferd.control.deployment_request import LEGACY_NAMES, StartBody, UpdateBody
from inferd.control.inference_config import TrainedModelConfigBody
from inferd.control.inference_endpoint_request import InferEndpointBody, PutEndpointBody, UpdateEndpointBody
from inferd.control.request_body import MODEL_ID, TIME_VALUE, Schema, StrictBody, without_null
from inferd.control.rollout_request import BODIES as ROLLOUT_BODIES
from inferd.control.upload_limits import UploadLimits
from inferd.settings import Settings

COMPONENTS = "#/components/schemas/{model}"
NEW_MODEL = ("put", "/_ml/trained_models/{model_id}")
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
QUERY: dict[str, Schema] = {
    "from": {"type": "integer", "minimum": 0, "maximum": MAX_RESULT_WINDOW},
    "size": {"type": "integer", "minimum": 0, "maximum": MAX_RESULT_WINDOW},
    "include": {"type": "string", "enum": list(INCLUDE_OPTIONS)},
    "timeout": {"type": "string", **TIME_VALUE},
}
"""Query parameters the routes read as text (to answer Elasticsearch's messages) and no body model types."""


class TypeFirst(GenerateJsonSchema):
    """Pydantic's JSON schema, each schema's `type` before its other keywords: schemathesis' coverage phase takes
    minutes to build boundary bodies for some schemas whose bounds precede their type (`_infer`'s documents)."""

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        sorted_schema: JsonSchemaValue = _type_first(super().sort(value, parent_key), parent_key)
        return sorted_schema


def _type_first(value: Any, parent_key: str | None) -> Any:
    if isinstance(value, list):
        return [_type_first(item, parent_key) for item in value]
    if not isinstance(value, dict):
        return value
    ordered = {key: _type_first(item, key) for key, item in value.items()}
    if parent_key in ("properties", "$defs", "default") or "type" not in ordered:
        return ordered  # names, not keywords
    return {"type": ordered.pop("type"), **ordered}


@dataclass(frozen=True)
class Operation:
    """What a route reads: its body's model (None: it reads none), and the model typing its query parameters that
    may come in the body as well (Elasticsearch's `_start` and inferd's rollouts)."""

    body: type[StrictBody] | None
    required: bool = False
    parameters: type[StrictBody] | None = None

    @property
    def parameter_model(self) -> type[StrictBody] | None:
        return self.parameters or self.body


def operations(settings: Settings) -> dict[tuple[str, str], Operation]:
    """The body each route reads, keyed by (method, path), with the server's bounds."""
    uploads = UploadLimits.of(settings)
    part, vocabulary, infer = definition_part_body(uploads), vocabulary_body(uploads), infer_body(
        RequestLimits.of(settings))
    model = "/_ml/trained_models/{model_id}"
    builds = "/_inferd/models/{model_id}/builds"
    deployment = "/_inferd/deployments/{deployment_id}"
    return {
        ("put", model): Operation(TrainedModelConfigBody, required=True),
        ("put", f"{model}/definition/{{part}}"): Operation(part, required=True),
        ("put", f"{model}/vocabulary"): Operation(vocabulary, required=True),
        ("put", builds): Operation(BuildBody),
        ("put", f"{builds}/{{build}}/definition/{{part}}"): Operation(part, required=True),
        ("put", f"{builds}/{{build}}/vocabulary"): Operation(vocabulary, required=True),
        ("post", f"{model}/deployment/_start"): Operation(StartBody),
        ("post", f"{model}/deployment/_update"): Operation(UpdateBody),
        ("post", f"{model}/deployment/_stop"): Operation(StopBody),
        ("post", f"{model}/_infer"): Operation(infer, required=True),
        ("post", f"{model}/deployment/_infer"): Operation(infer, required=True),
        **{("post", f"{deployment}/_{action}"): Operation(body) for action, body in ROLLOUT_BODIES.items()},
        ("post", f"{deployment}/_start"): Operation(None, parameters=StartBody),  # a stopped one: `_start`'s waits
        ("post", "/_security/api_key"): Operation(CreateApiKeyBody, required=True),
        ("put", "/_security/api_key"): Operation(CreateApiKeyBody, required=True),
        ("put", "/_security/api_key/{id}"): Operation(UpdateApiKeyBody),
        ("post", "/_security/_query/api_key"): Operation(QueryApiKeyBody),
        ("delete", "/_security/api_key"): Operation(InvalidateApiKeyBody, required=True),
        ("put", "/_security/user/{username}"): Operation(PutUserBody, required=True),
        ("post", "/_security/user/{username}"): Operation(PutUserBody, required=True),
        ("put", "/_inference/{task_type}/{inference_id}"): Operation(PutEndpointBody, required=True),
        ("put", "/_inference/{inference_id}/_update"): Operation(UpdateEndpointBody, required=True),
        ("put", "/_inference/{task_type}/{inference_id}/_update"): Operation(UpdateEndpointBody, required=True),
        ("post", "/_inference/{inference_id}"): Operation(InferEndpointBody, required=True),
        ("post", "/_inference/{task_type}/{inference_id}"): Operation(InferEndpointBody, required=True),
        ("put", "/_ingest/pipeline/{pipeline_id}"): Operation(PipelineBody, required=True),
        ("post", "/_ingest/pipeline/_simulate"): Operation(SimulateBody, required=True),
        ("post", "/_ingest/pipeline/{pipeline_id}/_simulate"): Operation(SimulateBody, required=True),
        ("post", "/v1/embeddings"): Operation(EmbeddingsBody, required=True),
        ("post", "/embed"): Operation(EmbedBody, required=True),
        ("post", "/embed_sparse"): Operation(EmbedBody, required=True),
        ("post", "/rerank"): Operation(RerankBody, required=True),
    }


def path_parameters(settings: Settings) -> dict[str, Schema]:
    """Path parameters the routes check themselves, in Elasticsearch's words."""
    return {
        "part": {"type": "integer", "minimum": 0, "maximum": settings.max_definition_parts - 1},
        "build": {"type": "integer", "minimum": 1, "maximum": MAX_BUILD_NUMBER},
        **dict.fromkeys(("model_id", "deployment_id", "model_alias"), {"type": "string", "minLength": 1,
                                                                       "maxLength": 512}),
    }


def describe(schema: Schema, settings: Settings) -> Schema:
    """Add the bodies, parameter bounds and error shape to FastAPI's generated description."""
    described = operations(settings)
    models = {model for operation in described.values() for model in (operation.body, operation.parameters) if model}
    references, definitions = models_json_schema([(model, "validation") for model in models], ref_template=COMPONENTS,
                                                  schema_generator=TypeFirst)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(definitions.get("$defs", {}))
    components["ElasticsearchError"] = ERROR
    components.pop("HTTPValidationError", None)  # FastAPI's own shape: inferd answers Elasticsearch's instead
    components.pop("ValidationError", None)

    def properties(model: type[StrictBody] | None) -> Schema:
        if model is None:
            return {}
        name = references[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
        found: Schema = components[name].get("properties", {})
        return found

    paths = path_parameters(settings)
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ElasticsearchError"}}}}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            read = described.get((method, path), Operation(None))
            if read.body is not None:
                operation["requestBody"] = {"required": read.required, "content": {"application/json": {
                    "schema": references[(read.body, "validation")]}}}
            typed = properties(read.parameter_model)
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if parameter["in"] == "query" and LEGACY_NAMES.get(name, name) in typed:
                    parameter["schema"] = without_null(typed[LEGACY_NAMES.get(name, name)])
                elif parameter["in"] == "query" and name in QUERY:
                    parameter["schema"] = QUERY[name]
                elif parameter["in"] == "path" and name == "model_id" and (method, path) == NEW_MODEL:
                    parameter["schema"] = {"type": "string", **MODEL_ID}  # a new model's id, not an expression
                elif parameter["in"] == "path" and name in paths:
                    parameter["schema"] = paths[name]
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
