"""Deployments outlive the server: restored after kill -9 with their settings, no orphan workers; SIGTERM drains.

Each test runs its own server on its own data dir, since it kills or stops it.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from elasticsearch import Elasticsearch

from tests.support.api import echo_rows, expected_ids, echoed_ids, workers
from tests.support.models import SLOW_WORD, TestModel, upload_test_model
from tests.support.server import ServerProcess, auth_headers, client_for, http_for
from tests.support.tls import self_signed_certificate

pytestmark = pytest.mark.slow


def deployment_stats(es: Elasticsearch, model_id: str) -> list[dict[str, Any]]:
    entries = es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"]
    return sorted((e["deployment_stats"] for e in entries if "deployment_stats" in e), key=lambda s: s["deployment_id"])


def worker_processes(server: ServerProcess) -> list[psutil.Process]:
    assert server.process is not None
    return [p for p in psutil.Process(server.process.pid).children() if "inferd.runtime.worker" in " ".join(p.cmdline())]


def test_a_killed_server_restarts_its_deployments_with_their_settings_and_leaves_no_orphan(
    tmp_path: Path, echo_model: TestModel
) -> None:
    server = ServerProcess(tmp_path / "data", extra_env={"INFERD_PROCESSORS": "4"}).start()
    try:
        es = client_for(server.url)
        upload_test_model(es, "echo", echo_model)
        es.ml.start_trained_model_deployment(model_id="echo", number_of_allocations=2, queue_capacity=7)
        es.ml.start_trained_model_deployment(model_id="echo", deployment_id="echo-small", priority="low")
        es.ml.start_trained_model_deployment(model_id="echo", deployment_id="echo-gone")
        es.ml.stop_trained_model_deployment(model_id="echo-gone")
        es.ml.update_trained_model_deployment(model_id="echo", number_of_allocations=3)
        before = deployment_stats(es, "echo")
        old_workers = worker_processes(server)
        assert len(old_workers) == 2

        server.kill()  # SIGKILL: no clean-up at all
        _, alive = psutil.wait_procs(old_workers, timeout=10)
        assert alive == [], "workers outlived their server"

        server.start()  # returns once /_inferd/ready says 200: the deployments must serve by then
        after = deployment_stats(es, "echo")
        assert [s["deployment_id"] for s in after] == ["echo", "echo-small"]
        for old, new in zip(before, after, strict=True):
            for name in ("number_of_allocations", "threads_per_allocation", "queue_capacity", "cache_size",
                         "priority", "start_time"):
                assert new[name] == old[name], name
            assert new["state"] == "started" and new["allocation_status"]["state"] == "fully_allocated"
        assert after[0]["number_of_allocations"] == 3 and after[0]["queue_capacity"] == 7
        response = es.ml.infer_trained_model(model_id="echo-small", docs=[{"text_field": "the cat"}])
        assert response["inference_results"][0]["predicted_value"] == echo_rows("the cat")
        with http_for(server.url) as http:
            assert {w["load_count"] for w in workers(http, "echo")} == {1}

        es.ml.stop_trained_model_deployment(model_id="echo-small")
        server.kill()
        server.start()
        assert [s["deployment_id"] for s in deployment_stats(es, "echo")] == ["echo"]
    finally:
        server.stop()


def test_sigterm_answers_every_admitted_request_then_exits(tmp_path: Path, slow_model: TestModel) -> None:
    server = ServerProcess(tmp_path / "data").start()
    es = client_for(server.url, connections_per_node=32)
    upload_test_model(es, "slow", slow_model)
    http = httpx.post(f"{server.url}/_ml/trained_models/slow/deployment/_start",
                      json={"inferd": {"max_batch_documents": 1}}, timeout=60, headers=auth_headers(server.url))
    assert http.status_code == 200, http.text
    answers: dict[int, Any] = {}
    texts = [f"{' '.join([SLOW_WORD] * 8)} {word}" for word in ("the", "cat", "dog", "red", "car", "big", "house",
                                                               "one", "two", "three", "four", "hello")]

    def infer(index: int) -> None:
        try:
            response = es.ml.infer_trained_model(model_id="slow", docs=[{"text_field": texts[index]}], timeout="60s")
            answers[index] = echoed_ids(response["inference_results"][0])
        except Exception as error:  # noqa: BLE001 - every failure counts
            answers[index] = error

    threads = [threading.Thread(target=infer, args=(index,)) for index in range(len(texts))]
    for thread in threads:
        thread.start()
    assert server.process is not None
    with http_for(server.url) as client:
        deadline_reached = False
        while not deadline_reached:  # wait until every request is admitted (queued or running)
            stats = client.get("/_ml/trained_models/slow/_stats").json()["trained_model_stats"][0]["deployment_stats"]
            node = stats["nodes"][0]
            deadline_reached = node["number_of_pending_requests"] + node.get("inference_count", 0) == len(texts)
    children = psutil.Process(server.process.pid).children(recursive=True)
    server.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(120)
    # uvicorn re-raises the signal once its graceful shutdown is done, so the exit status names SIGTERM.
    assert server.process.wait(timeout=120) in (0, -signal.SIGTERM)
    assert answers == {index: expected_ids(text) for index, text in enumerate(texts)}
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def test_sigterm_with_idle_tls_connections_exits_at_once(tmp_path: Path) -> None:
    """A client's pooled TLS connection never answers TLS's close_notify: the server must not wait for it (it held
    every stop for the 30 s grace period, past Docker's 10 s stop timeout, so the container was killed)."""
    (tmp_path / "tls").mkdir()
    cert, key = self_signed_certificate(tmp_path / "tls")
    server = ServerProcess(tmp_path / "data", scheme="https",
                           extra_args=["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    clients = [client_for(server.url, ca_certs=str(cert)) for _ in range(3)]
    assert all(es.info()["tagline"] == "You Know, for Search" for es in clients)  # each keeps its connection
    assert server.process is not None
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 10
