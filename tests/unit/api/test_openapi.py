"""The OpenAPI description is generated from the models the routes read their bodies with, bounded by the server's
own limits; what it allows the server takes, and what a model refuses the server refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from inferd.api.app import create_app
from inferd.api.body import read_json
from inferd.control.builds import MAX_BUILD_NUMBER, MAX_COMMENT_CHARS
from inferd.control.deployment_request import MAX_BATCH_DOCUMENTS, MAX_QUEUE_CAPACITY
from inferd.control.inference_config import MEMORY_METADATA, TrainedModelConfigBody
from inferd.control.registry import ModelRegistry
from inferd.control.request_body import parse_body
from inferd.api.schemas.security import MAX_KEY_NAME_LENGTH
from inferd.control.security.api_key_query import MAX_RESULT_WINDOW
from inferd.control.security.users import MIN_PASSWORD_LENGTH
from inferd.settings import Settings

MODELS = "/_ml/trained_models/{model_id}"
BUILDS = "/_inferd/models/{model_id}/builds"
DEPLOYMENT = "/_inferd/deployments/{deployment_id}"
Schema = dict[str, Any]


def described(tmp_path: Path, **limits: Any) -> Schema:
    return create_app(Settings(data_dir=tmp_path, **limits)).openapi()


def resolved(schema: Schema, node: Schema) -> Schema:
    """`node`, or the component it refers to."""
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def body(schema: Schema, method: str, path: str) -> Schema:
    return resolved(schema, schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


def value(schema: Schema, node: Schema) -> Schema:
    """A property's schema without its null branch, references followed."""
    branches = [branch for branch in node.get("anyOf", [node]) if branch != {"type": "null"}]
    return resolved(schema, {**branches[0], **{k: v for k, v in node.items() if k not in ("anyOf", "default")}})


def members(container: Schema) -> list[str]:
    """The members of a one-key container, one form each (exactly one member, required, nothing else)."""
    for form in container["anyOf"]:
        assert form["additionalProperties"] is False and form["required"] == list(form["properties"])
    return [name for form in container["anyOf"] for name in form["properties"]]


def parameters(schema: Schema, method: str, path: str) -> dict[str, Schema]:
    return {parameter["name"]: parameter["schema"] for parameter in schema["paths"][path][method]["parameters"]}


def test_every_route_that_reads_a_body_describes_it(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    schema = app.openapi()

    def reads_a_body(dependant: Any) -> bool:
        return any(sub.call is read_json or reads_a_body(sub) for sub in dependant.dependencies)

    readers = {(method.lower(), route.path) for route in app.state.api_routes if reads_a_body(route.dependant)
               for method in route.methods}
    undescribed = {(method, path) for method, path in readers if "requestBody" not in schema["paths"][path][method]}
    # Elasticsearch's GET form of Query API keys takes the POST form's body; a GET body is not described.
    assert undescribed == {("get", "/_security/_query/api_key")}
    assert body(schema, "put", MODELS) is schema["components"]["schemas"]["TrainedModelConfigBody"]
    assert body(schema, "put", MODELS)["additionalProperties"] is False


SETTING_BOUNDS = [  # (setting, a value, the body, where the body says it, what it says for a value)
    ("max_infer_documents", 7, ("post", f"{MODELS}/_infer"), lambda s, b: value(s, b["properties"]["docs"])["maxItems"]),
    ("max_document_chars", 99, ("post", f"{MODELS}/deployment/_infer"),
     lambda s, b: value(s, b["properties"]["docs"])["items"]["additionalProperties"]["maxLength"]),
    ("max_definition_parts", 12, ("put", f"{MODELS}/definition/{{part}}"),
     lambda s, b: b["properties"]["total_parts"]["maximum"]),
    ("max_definition_bytes", 5000, ("put", f"{BUILDS}/{{build}}/definition/{{part}}"),
     lambda s, b: b["properties"]["total_definition_length"]["maximum"]),
    ("max_definition_part_bytes", 301, ("put", f"{MODELS}/definition/{{part}}"),
     lambda s, b: b["properties"]["definition"]["maxLength"]),
    ("max_vocabulary_size", 40, ("put", f"{MODELS}/vocabulary"),
     lambda s, b: value(s, b["properties"]["scores"])["maxItems"]),
    ("max_vocabulary_entry_chars", 20, ("put", f"{BUILDS}/{{build}}/vocabulary"),
     lambda s, b: value(s, b["properties"]["merges"])["items"]["maxLength"]),
]
EXPECTED = {"max_definition_part_bytes": lambda size: 4 * (size // 3)}  # base64 text that decodes to at most that


@pytest.mark.parametrize(("setting", "changed", "operation", "bound"), SETTING_BOUNDS,
                         ids=[bound[0] for bound in SETTING_BOUNDS])
def test_a_bound_that_is_a_setting_is_the_running_servers(tmp_path: Path, setting: str, changed: int,
                                                          operation: tuple[str, str], bound: Any) -> None:
    expected = EXPECTED.get(setting, lambda limit: limit)
    default = described(tmp_path / "default")
    assert bound(default, body(default, *operation)) == expected(Settings.model_fields[setting].default)
    changed_schema = described(tmp_path / "changed", **{setting: changed})
    assert bound(changed_schema, body(changed_schema, *operation)) == expected(changed) != expected(
        Settings.model_fields[setting].default)
    if setting == "max_definition_parts":  # the part number in the path, too
        assert parameters(changed_schema, *operation)["part"]["maximum"] == changed - 1


def test_the_other_bounds_are_the_modules_constants(tmp_path: Path) -> None:
    schema = described(tmp_path)
    start = body(schema, "post", f"{MODELS}/deployment/_start")["properties"]
    assert start["threads_per_allocation"]["enum"] == [1, 2, 4, 8, 16, 32]
    assert start["queue_capacity"] == {"type": "integer", "minimum": 1, "maximum": MAX_QUEUE_CAPACITY}
    assert value(schema, value(schema, start["inferd"])["properties"]["max_batch_documents"])[
        "maximum"] == MAX_BATCH_DOCUMENTS
    assert value(schema, body(schema, "put", BUILDS)["properties"]["comment"])["maxLength"] == MAX_COMMENT_CHARS
    rollback = body(schema, "post", f"{DEPLOYMENT}/_rollback")["properties"]
    assert value(schema, rollback["build"])["maximum"] == MAX_BUILD_NUMBER
    assert body(schema, "post", "/_security/api_key")["properties"]["name"]["maxLength"] == MAX_KEY_NAME_LENGTH
    assert body(schema, "post", "/_security/_query/api_key")["properties"]["size"]["maximum"] == MAX_RESULT_WINDOW
    assert body(schema, "put", "/_security/user/{username}")["properties"]["password"]["minLength"] == (
        MIN_PASSWORD_LENGTH)
    # A query parameter that the body may give as well is described as the body's field.
    query = parameters(schema, "post", f"{MODELS}/deployment/_start")
    assert query["queue_capacity"] == start["queue_capacity"]
    assert query["inference_threads"] == start["threads_per_allocation"]  # the 8.0 name
    assert "inference_threads" not in start  # read, with a warning, but no longer described


def test_errors_are_described_in_elasticsearchs_shape(tmp_path: Path) -> None:
    schema = described(tmp_path)
    for operations_ in schema["paths"].values():
        for operation in operations_.values():
            assert "422" not in operation["responses"]
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ElasticsearchError"
            }
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_the_description_is_valid_openapi(tmp_path: Path) -> None:
    loaded = schemathesis.openapi.from_dict(described(tmp_path))
    operations_ = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations_) >= 25


def test_the_build_routes_read_the_upload_bodies_and_an_optional_build_body(tmp_path: Path) -> None:
    schema = described(tmp_path)
    assert body(schema, "put", f"{BUILDS}/{{build}}/definition/{{part}}") is body(
        schema, "put", f"{MODELS}/definition/{{part}}")
    assert body(schema, "put", f"{BUILDS}/{{build}}/vocabulary") is body(schema, "put", f"{MODELS}/vocabulary")
    create = schema["paths"][BUILDS]["put"]["requestBody"]
    assert create["required"] is False
    config = body(schema, "put", BUILDS)["properties"]["inference_config"]
    assert {"$ref": "#/components/schemas/InferenceConfig"} in config["anyOf"]
    assert parameters(schema, "get", f"{BUILDS}/{{build}}")["build"] == {
        "type": "integer", "minimum": 1, "maximum": MAX_BUILD_NUMBER}


def test_the_rollout_routes_take_their_own_wait_for_and_a_redeploy_takes_start_resources(tmp_path: Path) -> None:
    schema = described(tmp_path)
    redeploy = body(schema, "post", f"{DEPLOYMENT}/_redeploy")
    start = body(schema, "post", f"{MODELS}/deployment/_start")
    assert redeploy["properties"]["threads_per_allocation"] == start["properties"]["threads_per_allocation"]
    assert set(body(schema, "post", f"{DEPLOYMENT}/_rollback")["properties"]) == {
        "wait_for", "timeout", "allow_downtime", "build"}
    assert "build" not in body(schema, "post", f"{DEPLOYMENT}/_restart")["properties"]
    assert parameters(schema, "post", f"{DEPLOYMENT}/_restart")["wait_for"]["enum"] == ["none", "shifted", "done"]
    assert parameters(schema, "post", f"{DEPLOYMENT}/_start")["wait_for"]["enum"] == [
        "starting", "started", "fully_allocated"]


def test_the_api_key_update_and_query_bodies_are_described(tmp_path: Path) -> None:
    schema = described(tmp_path)
    update = schema["paths"]["/_security/api_key/{id}"]["put"]["requestBody"]
    assert update["required"] is False  # Elasticsearch takes an update without a body
    assert set(body(schema, "put", "/_security/api_key/{id}")["properties"]) == {
        "role_descriptors", "metadata", "expiration"}
    query = body(schema, "post", "/_security/_query/api_key")["properties"]
    assert {"$ref": "#/components/schemas/ApiKeyQuery"} in query["query"]["anyOf"]
    assert members(schema["components"]["schemas"]["ApiKeyQuery"]) == ["match_all", "term", "terms", "prefix", "bool"]


def test_a_model_config_missing_what_elasticsearch_requires_is_not_described(tmp_path: Path) -> None:
    schema = described(tmp_path)
    config, tasks = schema["components"]["schemas"]["TrainedModelConfigBody"], schema["components"]["schemas"][
        "InferenceConfig"]
    assert set(config["required"]) == {"model_type", "inference_config"}
    assert config["properties"]["model_type"]["enum"] == ["pytorch"]
    assert resolved(schema, config["properties"]["input"])["properties"]["field_names"]["minItems"] == 1
    assert not set(config["properties"]) & {"version", "create_time", "definition"}  # refused, so not described
    assert len(members(tasks)) == 9  # the NLP tasks: tree models' are refused, so not described
    assert not set(members(tasks)) & {"regression", "classification", "learning_to_rank"}


def test_a_model_config_the_description_allows_is_one_the_server_takes(tmp_path: Path) -> None:
    """Every config generated from the description passes the server's checks, and the configs spread over the
    tasks; but for the rules that span the path (a `model_id` in the body, tags), and JSON Schema's `2.0` being an
    integer, which the memory metadata refuses."""
    operation = schemathesis.openapi.from_dict(described(tmp_path))[MODELS]["PUT"]
    tasks: set[str] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters={"model_id": "m"}))
    def accepted(case: schemathesis.Case) -> None:
        config = dict(case.body)
        if config.get("model_id") is not None:
            config["model_id"] = "m"
        config["tags"] = [tag for tag in config.get("tags", []) if tag != "m"]
        for name in MEMORY_METADATA:
            if isinstance(config.get("metadata"), dict) and isinstance(config["metadata"].get(name), float):
                config["metadata"] = {**config["metadata"], name: int(config["metadata"][name])}
        stored = ModelRegistry._stored_config("m", parse_body(TrainedModelConfigBody, config, "trained_model_config"))
        tasks.update(stored["inference_config"])

    accepted()
    assert len(tasks) >= 5, tasks
