"""Faults of real worker processes, with client retries off: a worker killed under load, a model that hangs.

Every call is bounded by its timeout and every failure is counted; the route recovers by itself. The restart
policy (1 s, 2 s, 4 s, then failed for good, with its history entry and the 409 after) is a unit test on the fake
clock: tests/unit/control/test_route_workers.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, Elasticsearch

from tests.support.api import deployment_stats, echoed_ids, eventually, expected_ids, workers
from tests.support.load import Load, kill_worker, serving_again
from tests.support.models import HANG_WORD, TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for

pytestmark = pytest.mark.slow


def routing(es: Elasticsearch, deployment_id: str, node: str = "node-0") -> dict[str, Any]:
    (entry,) = [n for n in deployment_stats(es, deployment_id)["nodes"] if node in n["node"]]
    return entry["routing_state"]


@pytest.fixture
def deployed_echo(es: Elasticsearch, model_id: str, echo_model: TestModel) -> Iterator[str]:
    upload_test_model(es, model_id, echo_model)
    es.ml.start_trained_model_deployment(model_id=model_id, number_of_allocations=2)
    yield model_id
    es.ml.stop_trained_model_deployment(model_id=model_id, force=True)


def test_a_worker_killed_under_load_fails_only_its_batch_and_comes_back(
    server: ServerProcess, es: Elasticsearch, http: httpx.Client, deployed_echo: str
) -> None:
    load_client = client_for(server.url, connections_per_node=16)
    with Load(load_client, deployed_echo) as load:
        time.sleep(1)
        old_pid = kill_worker(http, deployed_echo)
        eventually(lambda: routing(es, deployed_echo)["routing_state"] == "failed", timeout_s=5, what="failed")
        reason = routing(es, deployed_echo)["reason"]
        assert "inference process exited with code [-9]" in reason
        eventually(serving_again(http, deployed_echo, old_pid), timeout_s=60, what="a new worker serving")
        served_before = load.ok
        eventually(lambda: load.ok > served_before + 20, timeout_s=30, what="traffic after the restart")
    assert load.wrong == []
    assert load.failures and all(status == 500 and "Error in inference process" in body
                                 for status, body in load.failures), load.failures[:3]
    stats = deployment_stats(es, deployed_echo)
    assert stats["error_count"] == len(load.failures)
    assert stats["inference_count"] == load.ok
    assert routing(es, deployed_echo) == {"routing_state": "started"}
    (worker,) = workers(http, deployed_echo)
    assert worker["load_count"] == 1 and worker["allocations"] == 2


def test_a_hanging_model_answers_408_and_its_worker_is_recycled(
    es: Elasticsearch, http: httpx.Client, model_id: str, slow_model: TestModel
) -> None:
    upload_test_model(es, model_id, slow_model)
    es.ml.start_trained_model_deployment(model_id=model_id)
    try:
        (before,) = workers(http, model_id)
        started = time.monotonic()
        with pytest.raises(ApiError) as timed_out:
            es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": f"the {HANG_WORD} cat"}], timeout="1s")
        assert timed_out.value.meta.status == 408 and time.monotonic() - started < 5
        # The server answers other calls at once while the worker spins.
        quick = time.monotonic()
        assert es.info()["tagline"] == "You Know, for Search" and time.monotonic() - quick < 1
        eventually(serving_again(http, model_id, before["pid"]), timeout_s=60, what="the stuck worker recycled")
        response = es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": "the cat"}])
        assert echoed_ids(response["inference_results"][0]) == expected_ids("the cat")
        stats = deployment_stats(es, model_id)
        assert stats["timeout_count"] == 1 and stats["inference_count"] == 1
    finally:
        es.ml.stop_trained_model_deployment(model_id=model_id, force=True)
