"""Several virtual nodes on one machine, over HTTP: allocations spread over nodes, each with a worker process of
its own, a shortfall in the stats, a capacity refusal, and a node lost and back through inferd's node API.

How the planner places, shrinks, re-places and refills is a unit test over the manager with in-process workers
(tests/unit/control/test_placement.py); a request retried on another node when its worker dies is
tests/unit/control/test_route_workers.py. The module has its own server: 2 nodes of 2 processors each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from elasticsearch import ApiError, Elasticsearch

from tests.support.api import deployment_stats, echo_rows, error, eventually, workers
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

NODES, PROCESSORS_PER_NODE = 2, 2
MODEL_ID = "t-virtual-nodes-echo"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"INFERD_NODES": str(NODES), "INFERD_PROCESSORS": str(NODES * PROCESSORS_PER_NODE)}
    server = ServerProcess(Path(tmp_path_factory.mktemp("nodes")) / "data", extra_env=env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def es(cluster: ServerProcess, echo_model: TestModel) -> Elasticsearch:
    client = client_for(cluster.url)
    upload_test_model(client, MODEL_ID, echo_model)
    return client


@pytest.fixture(scope="module")
def http(cluster: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(cluster.url) as client:
        yield client


def test_allocations_spread_over_nodes_and_a_shortfall_is_reported_not_refused(
    es: Elasticsearch, http: httpx.Client
) -> None:
    deployment_id = "spread"
    assignment = es.ml.start_trained_model_deployment(
        model_id=MODEL_ID, deployment_id=deployment_id, number_of_allocations=4, wait_for="fully_allocated"
    )["assignment"]
    try:
        assert sorted(assignment["routing_table"]) == ["node-0", "node-1"]
        assert {r["current_allocations"] for r in assignment["routing_table"].values()} == {PROCESSORS_PER_NODE}
        assert assignment["assignment_state"] == "started"
        pids = {worker["node"]: worker["pid"] for worker in workers(http, deployment_id)}
        assert len(set(pids.values())) == NODES  # a worker process of its own per node

        # Six asked, four fit: accepted, running four, the shortfall named per node.
        assignment = es.ml.update_trained_model_deployment(model_id=deployment_id, number_of_allocations=6)["assignment"]
        assert assignment["task_parameters"]["number_of_allocations"] == 6
        stats = deployment_stats(es, MODEL_ID, deployment_id)
        assert stats["allocation_status"] == {"allocation_count": 4, "target_allocation_count": 6, "state": "started"}
        assert stats["state"] == "started"
        assert "Could not assign (more) allocations on node [node-0]" in stats["reason"]
        assert "free processors [0]" in stats["reason"]
        response = es.ml.infer_trained_model(model_id=deployment_id, docs=[{"text_field": "the cat"}])
        assert response["inference_results"][0]["predicted_value"] == echo_rows("the cat")
    finally:
        es.ml.stop_trained_model_deployment(model_id=deployment_id)


def test_a_deployment_that_fits_on_no_node_is_refused(es: Elasticsearch) -> None:
    with pytest.raises(ApiError) as refused:
        es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id="too-wide", threads_per_allocation=4)
    assert error(refused) == (
        429, "status_exception", "Could not start deployment because no ML nodes with sufficient capacity were found"
    )
    assert not [e for e in es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"]
                if "deployment_stats" in e]


def nodes(http: httpx.Client) -> dict[str, dict[str, Any]]:
    response = http.get("/_inferd/nodes")
    assert response.status_code == 200, response.text
    return {node["node_id"]: node for node in response.json()["nodes"]}


def test_a_lost_node_s_allocations_move_to_the_other_and_the_node_comes_back(
    es: Elasticsearch, http: httpx.Client
) -> None:
    moving, staying = "moving", "staying"
    es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id=moving, number_of_allocations=1)
    es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id=staying, number_of_allocations=1)
    try:
        (home,) = [node_id for node_id, node in nodes(http).items() if moving in node["allocations"]]
        (other,) = [node_id for node_id in nodes(http) if node_id != home]
        assert nodes(http)[other]["allocations"] == {staying: 1}  # the emptier node
        (lost_worker,) = workers(http, moving)
        assert http.post(f"/_inferd/nodes/{home}/_fail").json() == {"acknowledged": True}
        assert nodes(http)[home]["available"] is False
        eventually(lambda: deployment_stats(es, MODEL_ID, moving)["allocation_status"]["state"] == "fully_allocated",
                   timeout_s=60, what=f"{moving} re-placed")
        assert nodes(http)[other]["allocations"] == {moving: 1, staying: 1}
        assert [n for n in deployment_stats(es, MODEL_ID, moving)["nodes"] if home in n["node"]] == []
        eventually(lambda: not psutil.pid_exists(lost_worker["pid"]), timeout_s=30, what="the lost worker to end")
        response = es.ml.infer_trained_model(model_id=moving, docs=[{"text_field": "the cat"}])
        assert response["inference_results"][0]["predicted_value"] == echo_rows("the cat")

        assert http.post(f"/_inferd/nodes/{home}/_recover").json() == {"acknowledged": True}
        assert nodes(http)[home]["available"] is True
    finally:
        http.post(f"/_inferd/nodes/{home}/_recover")
        es.ml.stop_trained_model_deployment(model_id=f"{moving},{staying}")
    response = http.post("/_inferd/nodes/node-9/_fail")
    assert response.status_code == 404 and response.json()["error"]["reason"] == "No known node [node-9]"
