"""GPU deployments on a real CUDA device (skipped where torch sees none: run these on a GPU machine).

A tiny BERT text embedding deployed on `cuda` and on `cpu` answers the same (float32 within float tolerance), in
float16 autocast close to it, the route's worker runs on the device the planner chose, `_stats` and
`/_inferd/nodes` show the GPUs, and a deployment pinned to a device index the machine lacks is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from elasticsearch import Elasticsearch

from tests.support.api import http_error
from tests.support.models import TestModel, make_test_model, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
MODEL_ID = "t-gpu-embedding"
TEXTS = ["the cat sat on the mat", "a dog", "the quick brown fox jumps over the lazy dog " * 8]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(Path(tmp_path_factory.mktemp("gpu")) / "data").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def embedding_model(models_dir: Path) -> TestModel:
    return make_test_model("text_embedding", models_dir)


@pytest.fixture(scope="module")
def es(server: ServerProcess, embedding_model: TestModel) -> Elasticsearch:
    client = client_for(server.url)
    upload_test_model(client, MODEL_ID, embedding_model)
    return client


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


def deploy(http: httpx.Client, deployment_id: str, inferd: dict[str, Any]) -> httpx.Response:
    return http.post(f"/_ml/trained_models/{MODEL_ID}/deployment/_start",
                     params={"deployment_id": deployment_id, "wait_for": "started", "timeout": "120s"},
                     json={"inferd": inferd})


def embeddings(es: Elasticsearch, deployment_id: str) -> np.ndarray:
    results = es.ml.infer_trained_model(model_id=deployment_id, docs=[{"text_field": text} for text in TEXTS],
                                        timeout="60s")["inference_results"]
    return np.array([result["predicted_value"] for result in results], dtype=np.float64)


def test_cuda_answers_as_the_cpu_does_and_float16_comes_close(es: Elasticsearch, http: httpx.Client) -> None:
    started = []
    try:
        for deployment_id, inferd in (("on-cpu", {"device": "cpu"}), ("on-cuda", {"device": "cuda"}),
                                      ("on-cuda-fp16", {"device": "cuda:0", "precision": "float16"})):
            response = deploy(http, deployment_id, inferd)
            assert response.status_code == 200, response.text
            started.append(deployment_id)
        on_cpu, on_cuda, half = (embeddings(es, name) for name in started)
        np.testing.assert_allclose(on_cuda, on_cpu, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(half, on_cpu, rtol=2e-2, atol=2e-2)
        assert not np.array_equal(half, on_cpu)  # float16 did run

        stats = {entry["deployment_stats"]["deployment_id"]: entry["deployment_stats"]
                 for entry in es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"]}
        assert stats["on-cuda"]["inferd"]["device"] == "cuda"
        assert stats["on-cuda"]["inferd"]["max_batch_documents"] == 128  # a GPU's default
        assert stats["on-cuda-fp16"]["inferd"]["precision"] == "float16"
        node = stats["on-cuda"]["nodes"][0]["inferd"]
        assert node["device"].startswith("cuda:") and node["gpus"][0]["memory_bytes"] > 0
        assert stats["on-cpu"]["nodes"][0]["inferd"]["device"] == "cpu"
        gpus = http.get("/_inferd/nodes").json()["nodes"][0]["gpus"]
        assert [gpu["device"] for gpu in gpus] == [f"cuda:{index}" for index in range(torch.cuda.device_count())]
        assert gpus[0]["name"] == torch.cuda.get_device_name(0)
    finally:
        for deployment_id in started:
            es.ml.stop_trained_model_deployment(model_id=deployment_id)


def test_a_device_index_the_machine_lacks_is_refused(http: httpx.Client, es: Elasticsearch) -> None:
    missing = torch.cuda.device_count()
    status, error_type, reason = http_error(deploy(http, "too-far", {"device": f"cuda:{missing}"}))
    assert (status, error_type) == (400, "illegal_argument_exception")
    assert f"no ML node has a [cuda:{missing}] device" in reason and "cuda:0 (" in reason


def test_a_redeploy_moves_a_cpu_deployment_to_the_gpu(http: httpx.Client, es: Elasticsearch) -> None:
    assert deploy(http, "moving", {"device": "cpu"}).status_code == 200
    try:
        before = embeddings(es, "moving")
        response = http.post("/_inferd/deployments/moving/_redeploy", json={"inferd": {"device": "cuda"}},
                             params={"timeout": "120s"})
        assert response.status_code == 200, response.text
        stats = es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"]
        moved = next(entry["deployment_stats"] for entry in stats
                     if entry.get("deployment_stats", {}).get("deployment_id") == "moving")
        assert moved["nodes"][0]["inferd"]["device"].startswith("cuda:")
        np.testing.assert_allclose(embeddings(es, "moving"), before, rtol=1e-4, atol=1e-5)
    finally:
        es.ml.stop_trained_model_deployment(model_id="moving")
