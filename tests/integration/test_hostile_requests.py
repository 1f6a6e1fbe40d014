"""Hostile requests and definitions against a real server: each gets a clear 4xx, and nothing else changes.

A server with small limits serves the echo model. After every hostile request the echo deployment still answers
correctly from the same worker process, and the stored model is unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
import socket
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Tuple

import httpx
import pytest
import torch

from tests.support.api import echo_rows, http_error, workers
from tests.support.models import VOCABULARY, TestModel, upload_test_model
from tests.support.server import ServerProcess, auth_headers, client_for, http_for

ECHO_ID = "hostile-echo"
LIMITS = {
    "INFERD_MAX_CONTENT_LENGTH_BYTES": "1000000",
    "INFERD_MAX_JSON_DEPTH": "20",
    "INFERD_MAX_INFER_DOCUMENTS": "50",
    "INFERD_MAX_DOCUMENT_CHARS": "5000",
    "INFERD_MAX_DEFINITION_BYTES": "10000000",
    "INFERD_MAX_DEFINITION_PART_BYTES": "500000",
    "INFERD_MAX_VOCABULARY_SIZE": "1000",
    "INFERD_MAX_VOCABULARY_ENTRY_CHARS": "100",
    "INFERD_MAX_HEADER_BYTES": "8192",
    "INFERD_MAX_URL_BYTES": "2048",
    "INFERD_PROCESSORS": "4",
    "INFERD_ML_MEMORY": "8gb",
}


@dataclass
class Hostile:
    server: ServerProcess
    http: httpx.Client
    echo_model: TestModel
    worker_pid: int

    def check_unharmed(self) -> None:
        """The echo deployment answers correctly from the same worker, and its model is as uploaded."""
        answer = self.http.post(f"/_ml/trained_models/{ECHO_ID}/_infer", json={"docs": [{"text_field": "hello world"}]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["inference_results"][0]["predicted_value"] == echo_rows("hello world")
        assert [worker["pid"] for worker in workers(self.http, ECHO_ID)] == [self.worker_pid]
        stored = self.http.get(f"/_ml/trained_models/{ECHO_ID}", params={"include": "definition_status"}).json()
        config = stored["trained_model_configs"][0]
        assert config["fully_defined"] is True
        assert config["inferd"]["definition_sha256"] == hashlib.sha256(
            self.echo_model.definition_path.read_bytes()
        ).hexdigest()
        assert self.http.get("/_inferd/ready").status_code == 200


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, echo_model: TestModel) -> Iterator[Hostile]:
    server = ServerProcess(tmp_path_factory.mktemp("hostile") / "data", extra_env=LIMITS).start()
    es = client_for(server.url)
    upload_test_model(es, ECHO_ID, echo_model)
    es.ml.start_trained_model_deployment(model_id=ECHO_ID, wait_for="started")
    with http_for(server.url) as http:
        yield Hostile(server, http, echo_model, workers(http, ECHO_ID)[0]["pid"])
    server.stop()


def refused(response: httpx.Response, status: int, error_type: str, reason: str) -> None:
    assert http_error(response) == (status, error_type, reason), response.text


def put_config(hostile: Hostile, model_id: str) -> None:
    response = hostile.http.put(f"/_ml/trained_models/{model_id}", json=hostile.echo_model.config)
    assert response.status_code == 200, response.text


def test_a_body_over_the_limit(hostile: Hostile) -> None:
    body = b"{" + b" " * 1_000_000 + b"}"
    status, answer, closed = raw_exchange(hostile.server, (
        f"POST /_ml/trained_models/{ECHO_ID}/_infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"authorization: {auth_headers(hostile.server.url)['Authorization']}\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body)
    assert (status, answer["error"]["type"], answer["error"]["reason"]) == (
        413, "content_too_long_exception",
        "Request body is too large; the limit is [1000000] bytes (max_content_length_bytes)")
    assert closed
    hostile.check_unharmed()


def test_json_nested_too_deep(hostile: Hostile) -> None:
    body = '{"docs": [{"text_field": "a"}], "inference_config": ' + '{"a": ' * 30 + "1" + "}" * 31
    response = hostile.http.post(f"/_ml/trained_models/{ECHO_ID}/_infer", content=body,
                                 headers={"content-type": "application/json"})
    refused(response, 400, "x_content_parse_exception",
            "[1:1] the request body nests objects and arrays more than [20] deep (max_json_depth)")
    hostile.check_unharmed()


def test_too_many_documents(hostile: Hostile) -> None:
    response = hostile.http.post(f"/_ml/trained_models/{ECHO_ID}/_infer", json={"docs": [{"text_field": "a"}] * 51})
    refused(response, 400, "action_request_validation_exception",
            "Validation Failed: 1: [docs] must contain at most [50] documents; found [51] (max_infer_documents);")
    hostile.check_unharmed()


def test_zero_shot_labels_count_as_inputs(hostile: Hostile) -> None:
    response = hostile.http.post(f"/_ml/trained_models/{ECHO_ID}/_infer", json={
        "docs": [{"text_field": "a"}] * 10, "inference_config": {"zero_shot_classification": {"labels": ["x"] * 6}},
    })
    refused(response, 400, "action_request_validation_exception",
            "Validation Failed: 1: [docs] must contain at most [50] documents; found [10] documents times [6] labels "
            "(max_infer_documents);")
    hostile.check_unharmed()


def test_millions_of_allocations_keep_the_ones_that_run(hostile: Hostile) -> None:
    """Regression (fuzzing): the memory estimate counted every allocation asked for, so `_update` to 3342105
    allocations made the estimate outgrow the node, and the planner dropped the deployment's running allocation;
    the deployment then sat at zero allocations and refused `_update` as not started."""
    update = f"/_ml/trained_models/{ECHO_ID}/deployment/_update"
    try:
        response = hostile.http.post(update, json={"number_of_allocations": 3_342_105})
        assert response.status_code == 200, response.text
        hostile.check_unharmed()
    finally:
        assert hostile.http.post(update, json={"number_of_allocations": 1}).status_code == 200


def test_a_document_too_long(hostile: Hostile) -> None:
    response = hostile.http.post(f"/_ml/trained_models/{ECHO_ID}/_infer",
                                 json={"docs": [{"text_field": "a"}, {"text_field": "word " * 1001}]})
    refused(response, 400, "illegal_argument_exception",
            "Input field [text_field] of document [1] has [5005] characters, more than the [5000] allowed "
            "(max_document_chars)")
    hostile.check_unharmed()


def test_definition_totals_beyond_the_limits(hostile: Hostile) -> None:
    put_config(hostile, "hostile-totals")
    response = hostile.http.put("/_ml/trained_models/hostile-totals/definition/0", json={
        "definition": base64.b64encode(b"x").decode(), "total_definition_length": 10_000_001, "total_parts": 10_001,
    })
    refused(response, 400, "action_request_validation_exception",
            "Validation Failed: 1: [total_parts] must be less than or equal to 10000;"
            "2: [total_definition_length] must be less than or equal to 10000000 (max_definition_bytes);")
    hostile.check_unharmed()


def test_a_definition_part_too_large(hostile: Hostile) -> None:
    put_config(hostile, "hostile-part")
    response = hostile.http.put("/_ml/trained_models/hostile-part/definition/0", json={
        "definition": base64.b64encode(b"x" * 500_001).decode(), "total_definition_length": 1_000_000,
        "total_parts": 2,
    })
    refused(response, 400, "action_request_validation_exception",
            "Validation Failed: 1: [definition] must be at most [500000] bytes once decoded; this part has [500001] "
            "(max_definition_part_bytes);")
    hostile.check_unharmed()


@pytest.mark.parametrize("kind", ["size", "entry"])
def test_a_vocabulary_too_large(hostile: Hostile, kind: str) -> None:
    model_id = f"hostile-vocabulary-{kind}"
    put_config(hostile, model_id)
    vocabulary = [f"w{i}" for i in range(1001)] if kind == "size" else [*VOCABULARY, "x" * 101]
    response = hostile.http.put(f"/_ml/trained_models/{model_id}/vocabulary", json={"vocabulary": vocabulary})
    reason = (
        "Validation Failed: 1: [vocabulary] must have at most [1000] entries; found [1001] (max_vocabulary_size);"
        if kind == "size" else
        f"Validation Failed: 1: [vocabulary] entry [{len(VOCABULARY)}] has [101] characters, more than the [100] "
        "allowed (max_vocabulary_entry_chars);"
    )
    refused(response, 400, "action_request_validation_exception", reason)
    hostile.check_unharmed()


def test_an_id_too_long(hostile: Hostile) -> None:
    model_id = "a" * 65
    response = hostile.http.put(f"/_ml/trained_models/{model_id}", json=hostile.echo_model.config)
    refused(response, 400, "action_request_validation_exception",
            f"Validation Failed: 1: Invalid model_id; '{model_id}' cannot contain more than 64 characters.;")
    hostile.check_unharmed()


def raw_exchange(server: ServerProcess, request: bytes) -> tuple[int, dict[str, Any], bool]:
    """Send `request` on a raw socket (the server may stop reading midway); the answer and whether it closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), b"connection: close" in head.lower()


def test_a_huge_header(hostile: Hostile) -> None:
    request = b"GET / HTTP/1.1\r\nhost: x\r\nx-huge: " + b"a" * 1_000_000 + b"\r\n\r\n"
    status, body, closed = raw_exchange(hostile.server, request)
    assert (status, body["error"]["type"], body["error"]["reason"]) == (
        400, "too_long_http_header_exception", "HTTP header is larger than 8192 bytes.")
    assert closed
    hostile.check_unharmed()


def test_a_huge_query_string(hostile: Hostile) -> None:
    status, body, closed = raw_exchange(
        hostile.server, b"GET /_ml/trained_models?tags=" + b"a" * 5000 + b" HTTP/1.1\r\nhost: x\r\n\r\n"
    )
    assert (status, body["error"]["type"], body["error"]["reason"]) == (
        400, "too_long_http_line_exception", "An HTTP line is larger than 2048 bytes.")
    assert closed
    hostile.check_unharmed()


# --- hostile definitions ------------------------------------------------------------------------------------------


def upload(hostile: Hostile, model_id: str, data: bytes) -> httpx.Response:
    """Config, then the definition in two parts; the answer to the part that completes it."""
    put_config(hostile, model_id)
    half = len(data) // 2
    for index, chunk in enumerate((data[:half], data[half:])):
        response = hostile.http.put(f"/_ml/trained_models/{model_id}/definition/{index}", json={
            "definition": base64.b64encode(chunk).decode(), "total_definition_length": len(data), "total_parts": 2,
        })
        if index == 0:
            assert response.status_code == 200, response.text
    return response


def check_refused(hostile: Hostile, model_id: str, response: httpx.Response, why: str) -> None:
    status, error_type, reason = http_error(response)
    assert (status, error_type) == (400, "status_exception")
    assert reason.startswith(f"The definition of model [{model_id}] was refused: ") and why in reason, reason
    status = hostile.http.get(f"/_ml/trained_models/{model_id}", params={"include": "definition_status"})
    assert status.json()["trained_model_configs"][0]["fully_defined"] is False
    hostile.check_unharmed()


class WritesMarker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.path), "w"))


@pytest.mark.parametrize("container", ["pickle", "torch.save"])
def test_a_pickle_that_runs_code(hostile: Hostile, tmp_path: Path, container: str) -> None:
    marker = tmp_path / "pwned"
    if container == "pickle":
        data = pickle.dumps(WritesMarker(marker))
    else:
        torch.save({"weights": WritesMarker(marker)}, tmp_path / "evil.pt")
        data = (tmp_path / "evil.pt").read_bytes()
    model_id = f"hostile-{container.replace('.', '-')}"
    check_refused(hostile, model_id, upload(hostile, model_id, data), "pickle files are refused"
                  if container == "pickle" else "torch.save files are refused")
    assert not marker.exists()


class SavesOnLoad(torch.nn.Module):
    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.w = torch.ones(2)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return input_ids.float()

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, str, bool]:
        return (self.w, self.marker, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, str, bool]) -> None:
        self.w, self.marker, self.training = state
        torch.save(self.w, self.marker)


def test_a_torchscript_hook_that_writes_a_file(hostile: Hostile, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.jit.save(torch.jit.script(SavesOnLoad(str(marker))), str(tmp_path / "hooked.pt"))
    response = upload(hostile, "hostile-hook", (tmp_path / "hooked.pt").read_bytes())
    check_refused(hostile, "hostile-hook", response, "uses [save], which can reach files or the network")
    assert not marker.exists()


def test_a_zip_bomb(hostile: Hostile, tmp_path: Path) -> None:
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/code/__torch__.py", "class M(Module):\n  pass\n")
        archive.writestr("bomb/constants.pkl", b"")
        archive.writestr("bomb/data/0", b"\0" * 50_000_000)
    check_refused(hostile, "hostile-zip-bomb", upload(hostile, "hostile-zip-bomb", path.read_bytes()), "zip bomb")


def test_a_zip_that_lies_about_its_sizes(hostile: Hostile, tmp_path: Path) -> None:
    data = bytearray(hostile.echo_model.definition_path.read_bytes())
    directory = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, directory + 24, 0xFFFF0000)
    response = upload(hostile, "hostile-liar", bytes(data))
    check_refused(hostile, "hostile-liar", response, "would expand to")


def test_a_truncated_archive(hostile: Hostile) -> None:
    data = hostile.echo_model.definition_path.read_bytes()
    response = upload(hostile, "hostile-truncated", data[: len(data) * 2 // 3])
    check_refused(hostile, "hostile-truncated", response, "not a TorchScript archive")
