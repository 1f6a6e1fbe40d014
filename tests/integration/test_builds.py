"""A model's builds over the real server: Elasticsearch's upload makes build 1, inferd's API makes and fills
the next ones in parts, and the default build is what Elasticsearch's GET shows and `_start` deploys.

The echo model is pass_through; its builds differ by `results_field`, so an inference shows which build
answered. Uploading a definition costs seconds (the server checks it), so the tests that need a complete
build share the flow they test rather than uploading again.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.support.api import http_error
from tests.support.models import TestModel, upload_test_model

CHUNK = 64 * 1024
TEXT = "hello world"


def builds_path(model_id: str) -> str:
    return f"/_inferd/models/{model_id}/builds"


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def parts_of(model: TestModel) -> list[bytes]:
    data = model.definition_path.read_bytes()
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def put_part(http: httpx.Client, model_id: str, build: int, part: int, data: bytes, total_length: int,
             total_parts: int) -> httpx.Response:
    body = {"definition": base64.b64encode(data).decode(), "total_definition_length": total_length,
            "total_parts": total_parts}
    return http.put(f"{builds_path(model_id)}/{build}/definition/{part}", json=body)


def upload_build(http: httpx.Client, model_id: str, build: int, model: TestModel) -> None:
    """The definition in 64 KiB parts, then the vocabulary: Elasticsearch's chunked protocol, on inferd's routes."""
    parts = parts_of(model)
    assert len(parts) >= 5
    for index, data in enumerate(parts):
        ok(put_part(http, model_id, build, index, data, model.size_bytes, len(parts)))
    ok(http.put(f"{builds_path(model_id)}/{build}/vocabulary", json=model.vocabulary))


def inference_config(es: Elasticsearch, model_id: str) -> dict[str, Any]:
    config: dict[str, Any] = es.ml.get_trained_models(model_id=model_id)["trained_model_configs"][0]
    return config


def answer_keys(es: Elasticsearch, model_id: str) -> set[str]:
    result = es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": TEXT}])["inference_results"][0]
    return set(result)


def deployed_build(es: Elasticsearch, model_id: str) -> int:
    stats = es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"]
    (deployment,) = [entry["deployment_stats"] for entry in stats if "deployment_stats" in entry]
    build: int = deployment["inferd"]["build"]
    return build


@pytest.fixture
def config_only(es: Elasticsearch, model_id: str, echo_model: TestModel) -> Iterator[str]:
    """A model with its config only: build 1 is `uploading` (enough for the tests that need no definition)."""
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    yield model_id
    es.ml.delete_trained_model(model_id=model_id, force=True)


@pytest.fixture
def uploaded(es: Elasticsearch, model_id: str, echo_model: TestModel) -> Iterator[str]:
    """The echo model uploaded the Elasticsearch way: build 1 is `ready`."""
    upload_test_model(es, model_id, echo_model)
    yield model_id
    es.ml.delete_trained_model(model_id=model_id, force=True)


def test_builds_are_created_uploaded_chosen_deployed_and_deleted(
    es: Elasticsearch, http: httpx.Client, uploaded: str, echo_model: TestModel
) -> None:
    model_id = uploaded
    sha256 = hashlib.sha256(echo_model.definition_path.read_bytes()).hexdigest()
    listed = ok(http.get(builds_path(model_id)))
    assert (listed["model_id"], listed["default_build"]) == (model_id, 1)
    (first,) = listed["builds"]
    assert first["build_number"] == 1 and first["state"] == "ready" and first["default"] is True
    assert first["definition_sha256"] == sha256 and first["task_type"] == "pass_through"
    assert first["total_definition_length"] == echo_model.size_bytes
    assert first["stored_parts"] == first["total_parts"] and first["has_vocabulary"] is True
    assert first["comment"] is None and first["deployments"] == [] and "failure_reason" not in first
    assert first["inference_config"] == inference_config(es, model_id)["inference_config"]

    # Build 2 renames the output: while it uploads, Elasticsearch's API still shows build 1.
    options = first["inference_config"]["pass_through"] | {"results_field": "from_build_2"}
    second = ok(http.put(builds_path(model_id), json={"comment": "renamed output",
                                                       "inference_config": {"pass_through": options}}))
    assert (second["build_number"], second["state"], second["default"]) == (2, "uploading", False)
    assert second["comment"] == "renamed output" and second["stored_parts"] == 0
    assert second["inference_config"] == {"pass_through": options}
    assert inference_config(es, model_id)["inference_config"] == first["inference_config"]
    assert inference_config(es, model_id)["inferd"]["build"] == 1

    upload_build(http, model_id, 2, echo_model)
    listed = ok(http.get(builds_path(model_id)))
    assert listed["default_build"] == 2 and [b["build_number"] for b in listed["builds"]] == [2, 1]
    assert [(b["state"], b["default"]) for b in listed["builds"]] == [("ready", True), ("ready", False)]
    assert listed["builds"][0]["definition_sha256"] == sha256
    assert ok(http.get(f"{builds_path(model_id)}/2")) == listed["builds"][0]
    shown = inference_config(es, model_id)
    assert shown["inference_config"] == {"pass_through": options} and shown["inferd"]["build"] == 2

    # Elasticsearch's _start deploys the default build; a build a deployment runs cannot be deleted.
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    assert deployed_build(es, model_id) == 2 and "from_build_2" in answer_keys(es, model_id)
    assert ok(http.get(f"{builds_path(model_id)}/2"))["deployments"] == [
        {"deployment_id": model_id, "state": "started"}]
    assert http_error(http.delete(f"{builds_path(model_id)}/2")) == (
        409, "status_exception", f"Cannot delete build [2] of model [{model_id}] as deployments [{model_id}] use it")

    # Pinning build 1 changes what GET shows and what the next _start deploys.
    assert ok(http.post(f"{builds_path(model_id)}/1/_set_default")) == {"acknowledged": True, "default_build": 1}
    assert ok(http.get(builds_path(model_id)))["default_build"] == 1
    assert inference_config(es, model_id)["inference_config"] == first["inference_config"]
    es.ml.stop_trained_model_deployment(model_id=model_id)
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    assert deployed_build(es, model_id) == 1 and "predicted_value" in answer_keys(es, model_id)

    # Build 2 is unused now; build 1 runs, and once 2 is gone it is the only build.
    assert ok(http.delete(f"{builds_path(model_id)}/2")) == {"acknowledged": True}
    assert [b["build_number"] for b in ok(http.get(builds_path(model_id)))["builds"]] == [1]
    es.ml.stop_trained_model_deployment(model_id=model_id)
    assert http_error(http.delete(f"{builds_path(model_id)}/1")) == (
        400, "status_exception",
        f"Cannot delete build [1] of model [{model_id}]: it is the model's only build; delete the model instead")


def test_a_refused_definition_fails_its_build(
    es: Elasticsearch, http: httpx.Client, uploaded: str, echo_model: TestModel
) -> None:
    model_id = uploaded
    ok(http.put(builds_path(model_id)))  # no body: build 1's config
    pickle = b"\x80\x04 not a definition"
    refused = put_part(http, model_id, 2, 0, pickle, len(pickle), 1)
    status, error_type, reason = http_error(refused)
    assert (status, error_type) == (400, "status_exception")
    assert reason.startswith(f"The definition of model [{model_id}] was refused") and "build [2] failed" in reason
    build = ok(http.get(f"{builds_path(model_id)}/2"))
    assert build["state"] == "failed" and build["failure_reason"] and build["stored_parts"] == 0
    for response in (put_part(http, model_id, 2, 0, parts_of(echo_model)[0], echo_model.size_bytes, 9),
                     http.put(f"{builds_path(model_id)}/2/vocabulary", json=echo_model.vocabulary)):
        status, _, reason = http_error(response)
        assert status == 400 and "takes no more definition parts or vocabulary; create a new build" in reason
    assert http_error(http.post(f"{builds_path(model_id)}/2/_set_default")) == (
        400, "status_exception", f"build [2] of model [{model_id}] is [failed]; only a [ready] build can be the default")
    assert inference_config(es, model_id)["inferd"]["build"] == 1  # the ready build stays the default


def test_a_new_build_keeps_the_task_type_and_its_body_is_checked(http: httpx.Client, config_only: str) -> None:
    model_id = config_only
    assert http_error(http.put(builds_path(model_id), json={"inference_config": {"text_embedding": {}}})) == (
        400, "illegal_argument_exception",
        f"a new build of model [{model_id}] must keep its task type [pass_through]; the given inference_config "
        "has [text_embedding]")
    assert http_error(http.put(builds_path(model_id), json={"labels": []})) == (
        400, "x_content_parse_exception", "[inferd_build] unknown field [labels]")
    status, error_type, _ = http_error(http.put(builds_path(model_id), json={"inference_config": {"ner": 1}}))
    assert (status, error_type) == (400, "x_content_parse_exception")
    status, error_type, reason = http_error(http.put(builds_path(model_id), json={"comment": "x" * 1025}))
    assert (status, error_type) == (400, "action_request_validation_exception") and "[comment]" in reason
    assert [b["build_number"] for b in ok(http.get(builds_path(model_id)))["builds"]] == [1]


def test_wrong_build_numbers_and_unfinished_builds(http: httpx.Client, config_only: str, echo_model: TestModel) -> None:
    model_id = config_only
    missing = (404, "resource_not_found_exception", f"Could not find build [9] of trained model [{model_id}]")
    assert http_error(http.get(f"{builds_path(model_id)}/9")) == missing
    assert http_error(put_part(http, model_id, 9, 0, b"abc", 3, 1)) == missing
    assert http_error(http.put(f"{builds_path(model_id)}/9/vocabulary", json=echo_model.vocabulary)) == missing
    assert http_error(http.post(f"{builds_path(model_id)}/9/_set_default")) == missing
    assert http_error(http.delete(f"{builds_path(model_id)}/9")) == missing
    assert http_error(http.get(builds_path("t-no-such-model"))) == (
        404, "resource_not_found_exception", "Could not find trained model [t-no-such-model]")
    assert http_error(http.get(f"{builds_path(model_id)}/two")) == (
        400, "illegal_argument_exception", "Failed to parse int parameter [build] with value [two]")
    assert http_error(http.post(f"{builds_path(model_id)}/1/_set_default")) == (
        400, "status_exception",
        f"build [1] of model [{model_id}] is [uploading]; only a [ready] build can be the default")
