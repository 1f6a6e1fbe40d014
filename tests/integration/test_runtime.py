"""The runtime under load over HTTP: the bounded queue's refusals with real concurrency, live resizing of a real
worker process that drops nothing, one worker per route.

The queue's exact admission (a request whole or not at all, in arrival order) and the batcher are unit tests
against a scripted worker on the fake clock: tests/unit/runtime/test_route_batching.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from elasticsearch import ApiError, Elasticsearch

from tests.support.api import deployment_stats, echoed_ids, expected_ids, workers
from tests.support.load import PLAIN_WORDS, Load
from tests.support.models import SLOW_WORD, TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for

CLIENTS = 16


@pytest.fixture
def slow_deployment(es: Elasticsearch, http: httpx.Client, model_id: str, slow_model: TestModel) -> Iterator[str]:
    upload_test_model(es, model_id, slow_model)
    response = http.post(
        f"/_ml/trained_models/{model_id}/deployment/_start",
        json={"queue_capacity": 5, "number_of_allocations": 1, "inferd": {"max_batch_documents": 1}},
    )
    assert response.status_code == 200, response.text
    yield model_id
    es.ml.stop_trained_model_deployment(model_id=model_id)


def _wait_pending(es: Elasticsearch, model_id: str, expected: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if deployment_stats(es, model_id)["nodes"][0]["number_of_pending_requests"] == expected:
            return
        time.sleep(0.02)
    raise AssertionError(f"pending requests never reached {expected}")


def test_concurrent_single_documents_beyond_capacity_are_refused_one_for_one(
    es: Elasticsearch, slow_deployment: str
) -> None:
    model_id = slow_deployment
    outcomes: list[int] = []
    lock = threading.Lock()

    def infer(text: str) -> None:
        try:
            response = es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": text}], timeout="60s")
            status = 200 if echoed_ids(response["inference_results"][0]) == expected_ids(text) else -1
        except ApiError as error:
            status = error.meta.status
        with lock:
            outcomes.append(status)

    blocker = threading.Thread(target=infer, args=(" ".join([SLOW_WORD] * 250),))
    blocker.start()
    _wait_pending(es, model_id, 1)
    texts = [f"{a} {b}" for a, b in zip(PLAIN_WORDS[:12], PLAIN_WORDS[12:24], strict=True)]
    with ThreadPoolExecutor(len(texts)) as pool:
        list(pool.map(infer, texts))
    blocker.join(60)
    assert sorted(outcomes) == [200] * (5 + 1) + [429] * (12 - 5)
    assert deployment_stats(es, model_id)["rejected_execution_count"] == 12 - 5


def test_resizing_under_load_drops_nothing_and_keeps_one_worker(
    es: Elasticsearch, http: httpx.Client, server: ServerProcess, model_id: str, echo_model: TestModel
) -> None:
    upload_test_model(es, model_id, echo_model)
    es.ml.start_trained_model_deployment(model_id=model_id, number_of_allocations=1)
    try:
        (before,) = workers(http, model_id)
        assert server.process is not None and before["pid"] != server.process.pid
        with Load(client_for(server.url, connections_per_node=CLIENTS), model_id, clients=CLIENTS) as load:
            for _ in range(3):  # 1 -> 2 -> 1 -> 2, then back to 1 for the next round
                for allocations in (2, 1, 2, 1):
                    assignment = es.ml.update_trained_model_deployment(
                        model_id=model_id, number_of_allocations=allocations
                    )["assignment"]
                    assert assignment["task_parameters"]["number_of_allocations"] == allocations
                    (worker,) = workers(http, model_id)
                    assert worker["allocations"] == allocations
                    time.sleep(0.05)
        assert load.failures == [] and load.wrong == []
        assert all(count > 0 for count in load.answered), load.answered
        (after,) = workers(http, model_id)
        assert after["pid"] == before["pid"]
        assert after["load_count"] == 1
        stats = deployment_stats(es, model_id)
        assert stats["inference_count"] == load.ok
        assert "error_count" not in stats and "rejected_execution_count" not in stats
    finally:
        es.ml.stop_trained_model_deployment(model_id=model_id)
