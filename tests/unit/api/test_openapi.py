"""The OpenAPI description types and bounds every body and parameter, with the server's own limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from inferd.api.app import create_app
from inferd.api.body import parse_body
from inferd.control.inference_config import TrainedModelConfigBody
from inferd.control.registry import MEMORY_METADATA, ModelRegistry
from inferd.settings import Settings

MODELS = "/_ml/trained_models/{model_id}"


def described(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return create_app(Settings(data_dir=tmp_path, **settings)).openapi()


def body(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def test_every_body_is_described(tmp_path: Path) -> None:
    schema = described(tmp_path)
    for method, path in [
        ("put", MODELS), ("put", f"{MODELS}/definition/{{part}}"), ("put", f"{MODELS}/vocabulary"),
        ("post", f"{MODELS}/deployment/_start"), ("post", f"{MODELS}/deployment/_update"),
        ("post", f"{MODELS}/deployment/_stop"), ("post", f"{MODELS}/_infer"), ("post", f"{MODELS}/deployment/_infer"),
    ]:
        assert body(schema, method, path)
    assert body(schema, "put", MODELS) == {"$ref": "#/components/schemas/TrainedModelConfigBody"}
    assert schema["components"]["schemas"]["TrainedModelConfigBody"]["additionalProperties"] is False


def test_the_bounds_are_the_servers_settings(tmp_path: Path) -> None:
    schema = described(tmp_path, max_infer_documents=7, max_document_chars=99, max_definition_parts=12,
                       max_definition_bytes=5000, max_definition_part_bytes=300, max_vocabulary_size=40)
    docs = body(schema, "post", f"{MODELS}/_infer")["properties"]["docs"]
    assert docs["maxItems"] == 7 and docs["items"]["additionalProperties"]["maxLength"] == 99
    part = body(schema, "put", f"{MODELS}/definition/{{part}}")["properties"]
    assert part["total_parts"]["maximum"] == 12 and part["total_definition_length"]["maximum"] == 5000
    assert part["definition"]["maxLength"] == 400
    assert body(schema, "put", f"{MODELS}/vocabulary")["properties"]["vocabulary"]["maxItems"] == 40
    start = schema["paths"][f"{MODELS}/deployment/_start"]["post"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in start["parameters"]}
    assert parameters["threads_per_allocation"]["enum"] == [1, 2, 4, 8, 16, 32]
    assert parameters["queue_capacity"] == {"type": "integer", "minimum": 1, "maximum": 100_000}


def test_errors_are_described_in_elasticsearchs_shape(tmp_path: Path) -> None:
    schema = described(tmp_path)
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ElasticsearchError"
            }


def test_the_description_is_valid_openapi(tmp_path: Path) -> None:
    loaded = schemathesis.openapi.from_dict(described(tmp_path))
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 25


def test_the_build_routes_read_the_upload_bodies_and_an_optional_build_body(tmp_path: Path) -> None:
    schema = described(tmp_path)
    builds = "/_inferd/models/{model_id}/builds"
    assert body(schema, "put", f"{builds}/{{build}}/definition/{{part}}") == body(
        schema, "put", f"{MODELS}/definition/{{part}}")
    assert body(schema, "put", f"{builds}/{{build}}/vocabulary") == body(schema, "put", f"{MODELS}/vocabulary")
    create = schema["paths"][builds]["put"]["requestBody"]
    assert create["required"] is False
    assert create["content"]["application/json"]["schema"]["properties"]["inference_config"] == {
        "$ref": "#/components/schemas/InferenceConfig"}
    parameters = {p["name"]: p["schema"] for p in schema["paths"][f"{builds}/{{build}}"]["get"]["parameters"]}
    assert parameters["build"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def test_the_rollout_routes_take_their_own_wait_for_and_a_redeploy_takes_start_resources(tmp_path: Path) -> None:
    schema = described(tmp_path)
    deployment = "/_inferd/deployments/{deployment_id}"
    redeploy = body(schema, "post", f"{deployment}/_redeploy")
    start = body(schema, "post", f"{MODELS}/deployment/_start")
    assert redeploy["properties"]["threads_per_allocation"] == start["properties"]["threads_per_allocation"]
    assert set(body(schema, "post", f"{deployment}/_rollback")["properties"]) == {
        "wait_for", "timeout", "allow_downtime", "build"}
    assert "build" not in body(schema, "post", f"{deployment}/_restart")["properties"]
    waits = {p["name"]: p["schema"] for p in schema["paths"][f"{deployment}/_restart"]["post"]["parameters"]}
    assert waits["wait_for"]["enum"] == ["none", "shifted", "done"]
    starts = {p["name"]: p["schema"] for p in schema["paths"][f"{deployment}/_start"]["post"]["parameters"]}
    assert starts["wait_for"]["enum"] == ["starting", "started", "fully_allocated"]


def test_the_api_key_update_and_query_bodies_are_described(tmp_path: Path) -> None:
    schema = described(tmp_path)
    update = schema["paths"]["/_security/api_key/{id}"]["put"]["requestBody"]
    assert update["required"] is False  # Elasticsearch takes an update without a body
    assert set(update["content"]["application/json"]["schema"]["properties"]) == {
        "role_descriptors", "metadata", "expiration"}
    query = body(schema, "post", "/_security/_query/api_key")
    assert query["properties"]["query"] == {"$ref": "#/components/schemas/ApiKeyQuery"}
    assert query["properties"]["size"]["maximum"] == 10_000
    assert set(schema["components"]["schemas"]["ApiKeyQuery"]["properties"]) == {
        "match_all", "term", "terms", "prefix", "bool"}


def test_a_model_config_the_description_allows_is_one_the_server_takes(tmp_path: Path) -> None:
    """Every config generated from the description passes the server's checks (the fuzz run's PUTs reach a 2xx),
    but for the rules that span the path (a `model_id` in the body, tags) and JSON Schema's `2.0` being an integer,
    which the memory metadata refuses."""
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
    assert len(tasks) >= 5, tasks  # the generated configs spread over the tasks


def test_a_model_config_missing_what_elasticsearch_requires_is_not_described(tmp_path: Path) -> None:
    schema = described(tmp_path)["components"]["schemas"]
    config, tasks = schema["TrainedModelConfigBody"], schema["InferenceConfig"]
    assert set(config["required"]) == {"model_type", "inference_config"}
    assert config["properties"]["model_type"]["enum"] == ["pytorch"]
    assert config["properties"]["input"]["properties"]["field_names"]["minItems"] == 1
    assert tasks["minProperties"] == tasks["maxProperties"] == 1
    assert not set(tasks["properties"]) & {"regression", "classification", "learning_to_rank"}
