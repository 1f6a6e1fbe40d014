"""Each body's model, its description and the server's parsing agree: a body generated from the description is taken
by the server's checks (but for the few rules JSON Schema cannot state), and a body its model refuses, the server
refuses. The bodies are generated from the description (schemathesis, derandomized) as a fuzzer would, and go
through the functions the routes call, in the routes' order; only the store behind them is left out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from inferd.api.app import create_app
from inferd.api.limits import RequestLimits
from inferd.api.openapi import operations
from inferd.api.inference import infer_documents
from inferd.api.schemas.build import BuildBody
from inferd.api.schemas.embedding_apis import EmbedBody, RerankBody, parse_embeddings, parse_tei
from inferd.api.schemas.ingest import PipelineBody, SimulateBody
from inferd.api.schemas.requests import definition_part_of, stop_allows_no_match, vocabulary_of
from inferd.api.schemas.security import (
    PutUserBody,
    QueryApiKeyBody,
    UpdateApiKeyBody,
    create_api_key_request,
    expiration_seconds,
    invalidate_api_key_request,
)
from inferd.control.builds import check_comment, refuse_vocabulary
from inferd.control.definitions import checked_part
from inferd.control.deployment_request import parse_start_request, parse_update_request
from inferd.control.inference_config import TrainedModelConfigBody
from inferd.control.inference_endpoint_request import (
    EndpointTaskType,
    Service,
    parse_infer_request,
    parse_put_request,
)
from inferd.control.inference_endpoint_request import parse_update_request as parse_endpoint_update
from inferd.control.ingest import Pipeline, check_documents
from inferd.control.registry import ModelRegistry, check_vocabulary
from inferd.control.request_body import parse_body
from inferd.control.rollout_request import parse_rollout_request
from inferd.control.security.api_key_query import check_window, parse_query, parse_sort
from inferd.control.security.api_keys import requested_privileges
from inferd.control.upload_limits import UploadLimits
from inferd.errors import InferdError, ParseError
from inferd.nlp.errors import NlpError
from inferd.nlp.tasks.updates import apply_update
from inferd.settings import Settings

MODELS = "/_ml/trained_models/{model_id}"
BUILDS = "/_inferd/models/{model_id}/builds"
DEPLOYMENT = "/_inferd/deployments/{deployment_id}"
LIMITS = {"max_infer_documents": 7, "max_document_chars": 99, "max_definition_parts": 12,
          "max_definition_bytes": 5000, "max_definition_part_bytes": 300, "max_vocabulary_size": 40,
          "max_vocabulary_entry_chars": 20}
"""Small limits, so that generated bodies reach them."""
UNSTATED = (
    "must not be larger than [max_number_of_allocations]",  # two numbers compared
    "Result window is too large",  # two numbers added
    "labels (max_infer_documents)",  # documents times zero-shot labels
    "[number_of_allocations] or [adaptive_allocations] is required",  # in the body or the query string
    "cannot set both `copy_from` and `value`", "[value] required property is missing",  # `set`: one of two
    "[keep] or [field] must be specified", "[keep] and [field] cannot both be used",  # `remove`: one of two
    "option is incompatible with [input_output]",  # `inference`: one way or the other
    "provided configuration parameters [field_mappings]",  # `inference`: `field_map` and its old name
    "[overlap] must be a less than or equal to",  # `chunking_settings`: half of `max_chunk_size`
    "is not supported: ",  # `if`: a condition's grammar (`control/ingest/conditions.py`)
    "uses mustache beyond",  # a template's grammar (`control/ingest/templates.py`)
)
"""The server's refusals by rules across fields or across the body and the query string, which JSON Schema
cannot state (the description states the rest of each)."""


class Deployed:
    """A deployment of the task and tokenizer the request names: what `_infer`'s update is checked against."""

    async def infer(self, model_id: str, documents: Any, update: Mapping[str, Any] | None, *_: Any) -> list[Any]:
        task, options = next(iter(update.items())) if update else ("pass_through", {})
        tokenization = (options or {}).get("tokenization") or {"bert": {}}
        try:
            apply_update(model_id, task, {"tokenization": {next(iter(tokenization)): {}}}, update)
        except NlpError as error:
            raise InferdError(str(error)) from None
        return []


def _put_model(body: Any) -> object:
    return ModelRegistry._stored_config("m", parse_body(TrainedModelConfigBody, body, "trained_model_config"))


def _part(uploads: UploadLimits) -> Callable[[Any], object]:
    def parse(body: Any) -> object:
        part = definition_part_of(body)
        return checked_part(0, part.definition, part.total_definition_length, part.total_parts, uploads)
    return parse


def _vocabulary(uploads: UploadLimits) -> Callable[[Any], object]:
    return lambda body: check_vocabulary(vocabulary_of(body), uploads)


def _build(body: Any) -> object:
    request = BuildBody() if body is None else parse_body(BuildBody, body, "inferd_build")
    check_comment(request.comment)
    if request.inference_config is not None:
        refuse_vocabulary(request.inference_config)
    return request


def _create_key(body: Any) -> object:
    request = create_api_key_request(body)
    return expiration_seconds(request.expiration), requested_privileges(request.role_descriptors or {})


def _update_key(body: Any) -> object:
    request = parse_body(UpdateApiKeyBody, {} if body is None else body, "update_api_key_request")
    return expiration_seconds(request.expiration), requested_privileges(request.role_descriptors or {})


def _query_keys(body: Any) -> object:
    request = parse_body(QueryApiKeyBody, {} if body is None else body, "query_api_key_request")
    check_window(request.from_, request.size)
    return parse_query(request.query), parse_sort(request.sort)


def _put_pipeline(body: Any) -> object:
    Pipeline.build("p", body)
    return parse_body(PipelineBody, body, "pipeline")


def _simulate(body: Any) -> object:
    """The body's own pipeline (the stored one the path may name instead is checked when it is put)."""
    if not isinstance(body, dict):
        raise ParseError("[simulate_pipeline] Expected START_OBJECT")
    if body.get("pipeline") is not None:
        Pipeline.build("_simulate_pipeline", body["pipeline"])
    check_documents(body)
    return parse_body(SimulateBody, body, "simulate_pipeline")


def parsers(settings_: Settings) -> dict[tuple[str, str], Callable[[Any], object]]:
    """What each route does with its body before it reads or writes the store, as the route does it."""
    uploads, limits = UploadLimits.of(settings_), RequestLimits.of(settings_)

    def infer(body: Any) -> object:
        return asyncio.run(infer_documents("m", body, Deployed(), None, limits))

    return {
        ("put", MODELS): _put_model,
        ("put", f"{MODELS}/definition/{{part}}"): _part(uploads),
        ("put", f"{MODELS}/vocabulary"): _vocabulary(uploads),
        ("put", BUILDS): _build,
        ("post", f"{MODELS}/deployment/_start"): lambda body: parse_start_request("m", {}, body),
        ("post", f"{MODELS}/deployment/_update"): lambda body: parse_update_request({}, body),
        ("post", f"{MODELS}/deployment/_stop"): lambda body: stop_allows_no_match(body, True),
        ("post", f"{MODELS}/_infer"): infer,
        **{("post", f"{DEPLOYMENT}/_{action}"): (lambda body, action=action: parse_rollout_request(action, {}, body))
           for action in ("redeploy", "rollback", "restart")},
        ("post", "/_security/api_key"): _create_key,
        ("put", "/_security/api_key/{id}"): _update_key,
        ("post", "/_security/_query/api_key"): _query_keys,
        ("delete", "/_security/api_key"): invalidate_api_key_request,
        ("put", "/_security/user/{username}"): lambda body: parse_body(PutUserBody, body, "user"),
        **{("put", f"/_inference/{task}{{inference_id}}/_update"): lambda body: parse_endpoint_update(
            EndpointTaskType.RERANK, Service.ELASTICSEARCH, body) for task in ("", "{task_type}/")},
        ("put", "/_inference/{task_type}/{inference_id}"): lambda body: parse_put_request(endpoint_task(body), body),
        **{("post", f"/_inference/{task}{{inference_id}}"): lambda body: parse_infer_request(endpoint_task(body), body)
           for task in ("", "{task_type}/")},
        ("put", "/_ingest/pipeline/{pipeline_id}"): _put_pipeline,
        **{("post", path): _simulate for path in ("/_ingest/pipeline/_simulate",
                                                   "/_ingest/pipeline/{pipeline_id}/_simulate")},
        ("post", "/v1/embeddings"): parse_embeddings,
        **{("post", path): (lambda body: parse_tei(EmbedBody, body)) for path in ("/embed", "/embed_sparse")},
        ("post", "/rerank"): lambda body: parse_tei(RerankBody, body),
    }


def integral(value: Any) -> Any:
    """JSON Schema counts `2.0` as an integer; Elasticsearch's integer fields refuse it, as the server does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {name: integral(item) for name, item in value.items()}
    return [integral(item) for item in value] if isinstance(value, list) else value


def endpoint_task(body: Any) -> EndpointTaskType:
    """The task type an `_inference` path names for the body: `elser` serves `sparse_embedding` only, a body with a
    `query` is a `rerank`'s."""
    if isinstance(body, dict) and body.get("service") == "elser":
        return EndpointTaskType.SPARSE_EMBEDDING
    if isinstance(body, dict) and (body.get("query") or "query" not in body and "service" in body):
        return EndpointTaskType.RERANK
    return EndpointTaskType.TEXT_EMBEDDING


def for_the_path(method: str, path: str, body: Any) -> Any:
    """The rules that span the path: the body's `model_id` is the path's, and no tag is it; `task_settings` are
    those of the path's task type (only `rerank` has any)."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if path.startswith("/_inference/") and endpoint_task(body) is not EndpointTaskType.RERANK:
        body.pop("task_settings", None)
    if path in (MODELS, f"{MODELS}/deployment/_start") and isinstance(body.get("model_id"), str):
        body["model_id"] = "m"
    if path == MODELS and isinstance(body.get("tags"), list):
        body["tags"] = [tag for tag in body["tags"] if tag != "m"]
    return body


SETTINGS = Settings(data_dir=Path("unused"), **LIMITS)
SCHEMA = create_app(SETTINGS).openapi()
OPERATIONS = operations(SETTINGS)
PARSERS = parsers(SETTINGS)
EXAMPLES = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def strategy(method: str, path: str, mode: GenerationMode) -> Any:
    operation = schemathesis.openapi.from_dict(SCHEMA)[path][method.upper()]
    return operation.as_strategy(generation_mode=mode)


def refusal(parse: Callable[[Any], object], body: Any) -> InferdError | None:
    try:
        parse(body)
    except InferdError as error:
        return error
    return None


def model_refuses(model: type[BaseModel], body: Any) -> bool:
    try:
        model.model_validate(body)
    except (ValidationError, InferdError):  # an Elasticsearch-typed field answers Elasticsearch's error
        return True
    return False


def _body(case: schemathesis.Case) -> Any:
    return None if isinstance(case.body, NotSet) else case.body


def test_every_described_body_has_a_parser_here() -> None:
    """Elasticsearch's and inferd's aliases of one route read the same body (the same parser)."""
    aliases = {("put", "/_security/api_key"), ("post", f"{MODELS}/deployment/_infer"),
               ("put", f"{BUILDS}/{{build}}/definition/{{part}}"), ("put", f"{BUILDS}/{{build}}/vocabulary"),
               ("post", "/_security/user/{username}")}
    described = {key for key, operation in OPERATIONS.items() if operation.body is not None}
    assert described - aliases == set(PARSERS)


@pytest.mark.parametrize(("method", "path"), sorted(PARSERS), ids=[f"{m.upper()} {p}" for m, p in sorted(PARSERS)])
def test_a_body_the_description_allows_is_taken(method: str, path: str) -> None:
    model, parse = OPERATIONS[(method, path)].body, PARSERS[(method, path)]
    assert model is not None

    @EXAMPLES
    @given(case=strategy(method, path, GenerationMode.POSITIVE))
    def taken(case: schemathesis.Case) -> None:
        body = for_the_path(method, path, integral(_body(case)))
        if body is not None:
            assert not model_refuses(model, body), body
        refused = refusal(parse, body)
        assert refused is None or any(rule in refused.reason for rule in UNSTATED), (body, refused)

    taken()


@pytest.mark.parametrize(("method", "path"), sorted(PARSERS), ids=[f"{m.upper()} {p}" for m, p in sorted(PARSERS)])
def test_a_body_its_model_refuses_is_refused(method: str, path: str) -> None:
    model, parse = OPERATIONS[(method, path)].body, PARSERS[(method, path)]
    assert model is not None
    refused_by_both = []

    @EXAMPLES
    @given(case=strategy(method, path, GenerationMode.NEGATIVE))
    def refused(case: schemathesis.Case) -> None:
        body = for_the_path(method, path, _body(case))
        if body is not None and model_refuses(model, body):
            assert refusal(parse, body) is not None, body
            refused_by_both.append(body)

    refused()
    assert refused_by_both  # the generated bodies did reach the models' refusals
