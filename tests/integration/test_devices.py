"""GPU deployments on a machine without a GPU, over HTTP: `inferd.device` cuda is refused 400 naming what the nodes
offer (at `_start` and at `_redeploy`), while `cpu` (and bfloat16 on it) deploys, serves, and shows in `_stats`
and in `/_inferd/nodes` (whose nodes offer no GPU). Real GPUs are tests/gpu/test_cuda.py's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch
from elasticsearch import Elasticsearch

from tests.support.api import echo_rows, http_error
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

MODEL_ID = "t-devices-echo"
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(Path(tmp_path_factory.mktemp("devices")) / "data").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def es(server: ServerProcess, echo_model: TestModel) -> Elasticsearch:
    client = client_for(server.url)
    upload_test_model(client, MODEL_ID, echo_model)
    return client


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


def start(http: httpx.Client, deployment_id: str, inferd: dict[str, str]) -> httpx.Response:
    return http.post(f"/_ml/trained_models/{MODEL_ID}/deployment/_start",
                     params={"deployment_id": deployment_id, "wait_for": "started"}, json={"inferd": inferd})


def test_cuda_is_refused_naming_what_the_nodes_offer(es: Elasticsearch, http: httpx.Client) -> None:
    for device in ("cuda", "cuda:0"):
        status, error_type, reason = http_error(start(http, "on-gpu", {"device": device}))
        assert (status, error_type) == (400, "illegal_argument_exception")
        assert reason == (f"Could not start deployment [on-gpu]: no ML node has a [{device}] device; the ML nodes "
                          "offer [node-0: cpu]")
    status, error_type, reason = http_error(start(http, "on-gpu", {"device": "gpu"}))
    assert (status, error_type) == (400, "action_request_validation_exception")
    assert reason == "Validation Failed: 1: [device] must be one of [cpu, cuda, cuda:N]; got [gpu];"
    status, _, reason = http_error(start(http, "on-gpu", {"precision": "float16"}))
    assert status == 400 and "[precision] [float16] needs a cuda [device]" in reason
    stats = es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"]
    assert all("deployment_stats" not in entry for entry in stats)  # nothing half-started or stored


def test_cpu_deploys_serves_and_shows_its_device(es: Elasticsearch, http: httpx.Client) -> None:
    response = start(http, "on-cpu", {"device": "cpu", "precision": "bfloat16"})
    assert response.status_code == 200, response.text
    try:
        inferred = es.ml.infer_trained_model(model_id="on-cpu", docs=[{"text_field": "the cat"}])
        assert inferred["inference_results"][0]["predicted_value"] == echo_rows("the cat")  # ids: exact in bfloat16
        deployment = es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"][0]["deployment_stats"]
        assert deployment["inferd"]["device"] == "cpu" and deployment["inferd"]["precision"] == "bfloat16"
        assert deployment["inferd"]["max_batch_documents"] == 16  # the CPU's default
        assert [node["inferd"] for node in deployment["nodes"]] == [{"device": "cpu", "gpus": []}]
        nodes = http.get("/_inferd/nodes").json()["nodes"]
        assert [(node["node_id"], node["gpus"], node["allocations"]) for node in nodes] == [
            ("node-0", [], {"on-cpu": 1})]

        redeploy = http.post("/_inferd/deployments/on-cpu/_redeploy", json={"inferd": {"device": "cuda"}})
        status, error_type, reason = http_error(redeploy)
        assert (status, error_type) == (400, "illegal_argument_exception")
        assert reason == ("Could not roll out deployment [on-cpu]: no ML node has a [cuda] device; the ML nodes "
                          "offer [node-0: cpu]")
        redeploy = http.post("/_inferd/deployments/on-cpu/_redeploy", json={"inferd": {"precision": "float32"}})
        assert redeploy.status_code == 200, redeploy.text
        deployment = es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"][0]["deployment_stats"]
        assert (deployment["inferd"]["device"], deployment["inferd"]["precision"]) == ("cpu", "float32")
    finally:
        es.ml.stop_trained_model_deployment(model_id="on-cpu")
