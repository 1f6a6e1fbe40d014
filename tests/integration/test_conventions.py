"""Elasticsearch's HTTP conventions, checked over real HTTP against the shared server."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.support.api import http_error
from tests.support.server import ServerProcess, http_for

COMPAT_9 = "application/vnd.elasticsearch+json; compatible-with=9"


def test_root_info_satisfies_elasticsearch_py_and_eland(es: Elasticsearch, http: httpx.Client) -> None:
    info = es.info()
    major = int(info["version"]["number"].split(".")[0])
    assert major == 9
    assert info["version"]["build_flavor"] == "default"
    assert info["tagline"] == "You Know, for Search"
    assert info["cluster_uuid"] == http.get("/").json()["cluster_uuid"]
    assert es.ping()


def test_root_info_carries_inferd_own_version_beside_elasticsearch_s(es: Elasticsearch) -> None:
    from importlib.metadata import version

    info = es.info()
    assert info["inferd"]["version"] == version("inferd")
    assert info["inferd"]["torch"] == version("torch")
    assert info["version"]["number"] != info["inferd"]["version"]  # the API spoken, not the server's own release


def test_cluster_uuid_is_stable_across_restarts(tmp_path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        with http_for(server.url) as http:
            first = http.get("/").json()["cluster_uuid"]
            server.restart()
            assert http.get("/").json()["cluster_uuid"] == first
    finally:
        server.stop()
    other = ServerProcess(tmp_path / "other").start()
    try:
        with http_for(other.url) as http:
            assert http.get("/").json()["cluster_uuid"] != first
    finally:
        other.stop()


def test_second_server_on_the_same_data_dir_refuses_to_start(server: ServerProcess) -> None:
    intruder = ServerProcess(server.data_dir)
    with pytest.raises(RuntimeError, match="in use by another inferd server"):
        intruder.start(timeout_s=30)
    with http_for(server.url) as http:
        assert http.get("/_inferd/health").status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/"), ("GET", "/nope"), ("POST", "/"), ("PUT", "/_ml/trained_models/x"), ("GET", "/_inferd/health")],
)
def test_every_response_carries_the_product_header(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, content=b"{" if method == "PUT" else None,
                            headers={"content-type": "application/json"})
    assert response.headers["x-elastic-product"] == "Elasticsearch"


def test_unknown_route_is_400_naming_uri_and_method(http: httpx.Client) -> None:
    status, kind, reason = http_error(http.get("/_ml/nothing_here?x=1"))
    assert (status, kind) == (400, "illegal_argument_exception")
    assert reason == "no handler found for uri [/_ml/nothing_here?x=1] and method [GET]"


def test_wrong_method_is_405_listing_allowed_methods(http: httpx.Client) -> None:
    response = http.post("/_ml/trained_models/some-model")
    status, _, reason = http_error(response)
    assert status == 405
    assert reason == (
        "Incorrect HTTP method for uri [/_ml/trained_models/some-model] and method [POST], "
        "allowed: [GET, PUT, DELETE]"
    )
    assert response.headers["allow"] == "GET,PUT,DELETE"


def test_unknown_query_parameters_are_named_with_suggestions(http: httpx.Client) -> None:
    status, kind, reason = http_error(http.get("/_ml/trained_models", params={"zzz": "1", "alow_no_match": "true"}))
    assert (status, kind) == (400, "illegal_argument_exception")
    assert reason == (
        "request [/_ml/trained_models] contains unrecognized parameters: "
        "[alow_no_match] -> did you mean [allow_no_match]?, [zzz]"
    )


def test_boolean_parameters_are_strict(http: httpx.Client) -> None:
    status, _, reason = http_error(http.get("/_ml/trained_models", params={"allow_no_match": "yes"}))
    assert status == 400
    assert reason == "Failed to parse value [yes] as only [true] or [false] are allowed."
    status, _, reason = http_error(http.get("/_ml/trained_models", params={"size": "ten"}))
    assert (status, reason) == (400, "Failed to parse int parameter [size] with value [ten]")


def test_malformed_json_is_a_parse_error_with_position(http: httpx.Client) -> None:
    response = http.put("/_ml/trained_models/bad-json", content=b'{"model_type": "pytorch",\n "x": }',
                        headers={"content-type": "application/json"})
    status, kind, reason = http_error(response)
    assert (status, kind) == (400, "x_content_parse_exception")
    assert reason.startswith("[2:7] ")


def test_missing_body_is_a_parse_exception(http: httpx.Client) -> None:
    status, kind, reason = http_error(http.put("/_ml/trained_models/no-body"))
    assert (status, kind, reason) == (400, "parse_exception", "request body is required")


def test_unknown_body_field_is_named(http: httpx.Client) -> None:
    body = {"model_type": "pytorch", "inference_config": {"pass_through": {}}, "modle_size_bytes": 3}
    status, kind, reason = http_error(http.put("/_ml/trained_models/unknown-field", json=body))
    assert (status, kind) == (400, "x_content_parse_exception")
    assert reason == "[trained_model_config] unknown field [modle_size_bytes] did you mean [model_size_bytes]?"


@pytest.mark.parametrize(
    "content_type, status, reason",
    [
        ("text/plain", 406, "Content-Type header [text/plain] is not supported"),
        ("application/vnd.elasticsearch+json; compatible-with=7", 400,
         "Invalid media-type value on headers [Accept, Content-Type]"),
    ],
)
def test_unsupported_media_types_are_refused(http: httpx.Client, content_type: str, status: int, reason: str) -> None:
    response = http.put("/_ml/trained_models/media", content=b"{}", headers={"content-type": content_type})
    assert http_error(response)[0::2] == (status, reason)


@pytest.mark.parametrize("content_type", ["application/json", COMPAT_9,
                                          "application/vnd.elasticsearch+json;compatible-with=8"])
def test_json_media_types_are_accepted(http: httpx.Client, content_type: str, model_id: str) -> None:
    suffix = str(abs(hash(content_type)) % 10_000)
    body = json.dumps({"model_type": "pytorch", "inference_config": {"pass_through": {}}})
    response = http.put(f"/_ml/trained_models/{model_id}-{suffix}", content=body,
                        headers={"content-type": content_type, "accept": content_type})
    assert response.status_code == 200, response.text


def test_bodies_over_the_limit_are_413(tmp_path) -> None:
    server = ServerProcess(tmp_path / "data", extra_env={"INFERD_MAX_CONTENT_LENGTH_BYTES": "1000"}).start()
    try:
        with http_for(server.url) as http:
            response = http.put("/_ml/trained_models/big", content=b"x" * 2000,
                                headers={"content-type": "application/json"})
            assert http_error(response)[0] == 413

            def chunks():  # no Content-Length: counted as it streams
                for _ in range(10):
                    yield b" " * 500

            response = http.put("/_ml/trained_models/big", content=chunks(),
                                headers={"content-type": "application/json"})
            assert http_error(response)[0] == 413
            assert http.get("/_inferd/health").status_code == 200
    finally:
        server.stop()


def test_bodies_in_flight_together_are_bounded(tmp_path) -> None:
    """A slow upload holds its bytes; a second body that would pass the total is refused with 429."""
    limits = {"INFERD_MAX_CONTENT_LENGTH_BYTES": "1000", "INFERD_MAX_IN_FLIGHT_BODY_BYTES": "1500"}
    server = ServerProcess(tmp_path / "data", extra_env=limits).start()
    holding = threading.Event()
    release = threading.Event()

    def slow_body():
        yield b" " * 900
        holding.set()
        release.wait(30)
        yield b"{}"

    try:
        with http_for(server.url) as slow, http_for(server.url) as fast:
            first: list[httpx.Response] = []
            uploader = threading.Thread(target=lambda: first.append(slow.put(
                "/_ml/trained_models/slow", content=slow_body(), headers={"content-type": "application/json"})))
            uploader.start()
            assert holding.wait(30)
            time.sleep(0.5)  # let the server read the first 900 bytes
            response = fast.put("/_ml/trained_models/fast", content=b" " * 700 + b"{}",
                                headers={"content-type": "application/json"})
            status, kind, reason = http_error(response)
            assert (status, kind) == (429, "circuit_breaking_exception")
            assert reason.startswith("[in_flight_requests] Data too large")
            release.set()
            uploader.join(30)
            assert first[0].status_code == 400  # the slow body was read whole, then found wanting
            ok = fast.put("/_ml/trained_models/fast", content=b" " * 700 + b"{}",
                          headers={"content-type": "application/json"})
            assert ok.status_code == 400 and ok.json()["error"]["type"] != "circuit_breaking_exception"
    finally:
        release.set()
        server.stop()


def test_pretty_and_filter_path(http: httpx.Client) -> None:
    pretty = http.get("/", params={"pretty": ""}).text
    assert pretty.startswith('{\n  "name" : ')
    filtered = http.get("/", params={"filter_path": "version.number,tag*"}).json()
    assert set(filtered) == {"version", "tagline"} and list(filtered["version"]) == ["number"]
    deep = http.get("/", params={"filter_path": "**.build_*,-**.build_date"}).json()
    assert set(deep["version"]) == {"build_flavor", "build_type", "build_hash", "build_snapshot"}
    error = http.get("/nope", params={"filter_path": "status"}).json()
    assert error == {"status": 400}


def test_error_trace_adds_a_stack_trace(http: httpx.Client) -> None:
    body = http.get("/_ml/trained_models/does-not-exist", params={"error_trace": "true"}).json()
    assert "ResourceNotFound" in body["error"]["stack_trace"]
    assert "stack_trace" not in http.get("/_ml/trained_models/does-not-exist").json()["error"]


def test_health_and_ready(http: httpx.Client) -> None:
    assert http.get("/_inferd/health").json() == {"status": "ok"}
    assert http.get("/_inferd/ready").json() == {"ready": True}


def test_a_compatible_with_accept_header_is_checked_on_every_route(http: httpx.Client) -> None:
    response = http.get("/", headers={"accept": "application/vnd.elasticsearch+json; compatible-with=7"})
    status, kind, reason = http_error(response)
    assert (status, kind, reason) == (400, "media_type_header_exception",
                                      "Invalid media-type value on headers [Accept, Content-Type]")
    assert response.json()["error"]["caused_by"]["reason"].startswith("Accept version must be either version 9 or 8")


@pytest.mark.parametrize("content", [b'{"metadata": {"x": NaN}}', b"[" * 100_000 + b"]" * 100_000])
def test_hostile_json_is_a_parse_error(http: httpx.Client, content: bytes) -> None:
    response = http.put("/_ml/trained_models/hostile-json", content=content, headers={"content-type": "application/json"})
    assert http_error(response)[:2] == (400, "x_content_parse_exception")


def test_huge_numbers_are_refused_not_overflowed(http: httpx.Client) -> None:
    body = {"definition": "AAAA", "total_definition_length": 2**64, "total_parts": 1}
    response = http.put("/_ml/trained_models/whatever/definition/0", json=body)
    assert http_error(response)[:2] == (400, "x_content_parse_exception")
    response = http.put(f"/_ml/trained_models/whatever/definition/{2**70}", json=body)
    assert http_error(response)[0] == 400
