"""Several virtual nodes on one machine: allocations spread over nodes, shortfalls, capacity refusals, limits.

The module has its own server: 2 nodes of 2 processors each, and room for only 2 deployments.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, Elasticsearch

from tests.support.api import deployment_stats, echo_rows, error, eventually, workers
from tests.support.load import Load, kill_worker, serving_again
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

NODES, PROCESSORS_PER_NODE = 2, 2
MODEL_ID = "t-virtual-nodes-echo"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"INFERD_NODES": str(NODES), "INFERD_PROCESSORS": str(NODES * PROCESSORS_PER_NODE),
           "INFERD_MAX_DEPLOYMENTS": "2"}
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

        # Back to two: whole nodes are freed first (as Elasticsearch's reducer does); what stays is the same process.
        es.ml.update_trained_model_deployment(model_id=deployment_id, number_of_allocations=2)
        stats = deployment_stats(es, MODEL_ID, deployment_id)
        assert stats["allocation_status"]["state"] == "fully_allocated" and "reason" not in stats
        eventually(lambda: len(deployment_stats(es, MODEL_ID, deployment_id)["nodes"]) == 1, what="the freed node's route to go")
        (node,) = deployment_stats(es, MODEL_ID, deployment_id)["nodes"]
        assert node["number_of_allocations"] == 2 and node["routing_state"] == {"routing_state": "started"}
        (worker,) = workers(http, deployment_id)
        assert worker["pid"] == pids[worker["node"]] and worker["load_count"] == 1

        # Two processors are free again: a second deployment asking for three gets two and times out waiting for all.
        with pytest.raises(ApiError) as timed_out:
            es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id="second", number_of_allocations=3,
                                                 wait_for="fully_allocated", timeout="3s")
        assert error(timed_out) == (
            408, "status_exception",
            "Timed out after [3s] waiting for trained model deployment [second] to start. Use the trained model "
            "stats API to track the state of the deployment and try again once it has started.",
        )
        eventually(lambda: deployment_stats(es, MODEL_ID, "second")["allocation_status"]["allocation_count"] == 2, what="2 of 3 running")
        assert deployment_stats(es, MODEL_ID, "second")["allocation_status"]["state"] == "started"

        # The limit of two deployments.
        with pytest.raises(ApiError) as limited:
            es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id="third")
        assert error(limited) == (
            429, "status_exception",
            "Could not start model deployment because existing deployments reached the limit of [2]",
        )
    finally:
        es.ml.stop_trained_model_deployment(model_id=deployment_id)

    # Freed processors go to the deployment that is short of its target.
    eventually(lambda: deployment_stats(es, MODEL_ID, "second")["allocation_status"]["state"] == "fully_allocated", what="refill")
    es.ml.stop_trained_model_deployment(model_id="second")


def test_a_deployment_that_fits_on_no_node_is_refused(es: Elasticsearch) -> None:
    with pytest.raises(ApiError) as refused:
        es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id="too-wide", threads_per_allocation=4)
    assert error(refused) == (
        429, "status_exception", "Could not start deployment because no ML nodes with sufficient capacity were found"
    )
    assert not [e for e in es.ml.get_trained_models_stats(model_id=MODEL_ID)["trained_model_stats"]
                if "deployment_stats" in e]


def test_requests_on_a_crashed_node_are_retried_on_the_other(
    cluster: ServerProcess, es: Elasticsearch, http: httpx.Client
) -> None:
    deployment_id = "retried"
    es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id=deployment_id, number_of_allocations=4)
    try:
        with Load(client_for(cluster.url, connections_per_node=16), deployment_id) as load:
            time.sleep(1)
            old_pid = kill_worker(http, deployment_id, "node-1")
            eventually(serving_again(http, deployment_id, old_pid), timeout_s=60, what="node-1 serving again")
            served = load.ok
            eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic after the restart")
        assert load.failures == [] and load.wrong == []
        assert deployment_stats(es, MODEL_ID, deployment_id)["inference_count"] == load.ok
    finally:
        es.ml.stop_trained_model_deployment(model_id=deployment_id)


def nodes(http: httpx.Client) -> dict[str, dict[str, Any]]:
    response = http.get("/_inferd/nodes")
    assert response.status_code == 200, response.text
    return {node["node_id"]: node for node in response.json()["nodes"]}


def test_a_lost_node_s_allocations_move_to_the_others_and_come_back(
    cluster: ServerProcess, es: Elasticsearch, http: httpx.Client
) -> None:
    moving, staying = "moving", "staying"
    es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id=moving, number_of_allocations=1)
    es.ml.start_trained_model_deployment(model_id=MODEL_ID, deployment_id=staying, number_of_allocations=1)
    try:
        (home,) = [node_id for node_id, node in nodes(http).items() if moving in node["allocations"]]
        (other,) = [node_id for node_id in nodes(http) if node_id != home]
        assert nodes(http)[other]["allocations"] == {staying: 1}  # the emptier node
        with Load(client_for(cluster.url, connections_per_node=8), moving) as load:
            time.sleep(0.5)
            assert http.post(f"/_inferd/nodes/{home}/_fail").json() == {"acknowledged": True}
            assert nodes(http)[home]["available"] is False
            eventually(lambda: deployment_stats(es, MODEL_ID, moving)["allocation_status"]["state"] == "fully_allocated",
                       timeout_s=60, what=f"{moving} re-placed")
            served = load.ok
            eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic after the loss")
        assert load.wrong == []
        # Only what the lost node held (or what arrived before the new worker served) failed, and said why.
        assert all(status in (409, 500) for status, _ in load.failures), load.failures[:3]
        assert nodes(http)[other]["allocations"] == {moving: 1, staying: 1}
        assert [n for n in deployment_stats(es, MODEL_ID, moving)["nodes"] if home in n["node"]] == []

        # While the node is out, more allocations than fit wait for it; when it returns, they fill up there.
        es.ml.update_trained_model_deployment(model_id=staying, number_of_allocations=3)
        assert deployment_stats(es, MODEL_ID, staying)["allocation_status"] == {
            "allocation_count": 1, "target_allocation_count": 3, "state": "started"}
        assert http.post(f"/_inferd/nodes/{home}/_recover").json() == {"acknowledged": True}
        eventually(lambda: deployment_stats(es, MODEL_ID, staying)["allocation_status"]["state"] == "fully_allocated",
                   timeout_s=60, what="the shortfall filled on the returned node")
        assert nodes(http)[home]["allocations"] == {staying: 2}
    finally:
        http.post(f"/_inferd/nodes/{home}/_recover")
        es.ml.stop_trained_model_deployment(model_id=f"{moving},{staying}")
    response = http.post("/_inferd/nodes/node-9/_fail")
    assert response.status_code == 404 and response.json()["error"]["reason"] == "No known node [node-9]"
