"""Deployments on the nodes of a Ray cluster: the real server with `--cluster ray`, real workers on simulated nodes.

One Ray cluster for the module (`ray.cluster_utils.Cluster`, all on 127.0.0.1: a head that offers no `inferd_ml`
and three ML nodes of one CPU each), one server, one deployment moved through the tests in order: spread over the
three nodes, resized under load, rolled out under load, a worker killed under load, the server killed and started
again (its workers adopted), stopped and started again (adopted again), killed and started with other worker
settings (its workers replaced), then a node removed under load and one added back. About a minute and a half
in all, most of it Ray noticing the removed node (its heartbeat timeout) and the servers starting.
Skipped where Ray is not installed (it is an optional extra); CI installs the dev lock, which has it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from elasticsearch import Elasticsearch

from tests.support.api import deployment_stats, echo_rows, eventually, workers
from tests.support.load import Load, kill_worker, serving_again
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess, auth_headers, client_for, http_for

ray_cluster_utils = pytest.importorskip("ray.cluster_utils")

MODEL_ID = "t-ray-echo"
DEPLOYMENT = "spread"
NODE_MEMORY = 2 * 1024**3
OBJECT_STORE = 80 * 1024**2  # Ray's least: the nodes share this machine's memory


class RayNodes:
    """The simulated cluster: its head and the ML nodes, which the tests remove and add."""

    def __init__(self, cache_dir: Path) -> None:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        os.environ["INFERD_NODE_CACHE"] = str(cache_dir)  # the raylets, and so the supervisors, inherit it
        self.cache_dir = cache_dir
        self.cluster = ray_cluster_utils.Cluster(
            initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": OBJECT_STORE})
        self.ml: list[Any] = [self.add() for _ in range(3)]

    def add(self) -> Any:
        return self.cluster.add_node(num_cpus=1, memory=NODE_MEMORY, resources={"inferd_ml": 1},
                                     object_store_memory=OBJECT_STORE)

    def ids(self) -> set[str]:
        return {node.node_id for node in self.ml}

    def remove(self, node_id: str) -> None:
        (node,) = [node for node in self.ml if node.node_id == node_id]
        self.cluster.remove_node(node, allow_graceful=False)
        self.ml.remove(node)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayNodes]:
    cluster = RayNodes(tmp_path_factory.mktemp("ray-node-cache"))
    yield cluster
    cluster.cluster.shutdown()


@pytest.fixture(scope="module")
def server(nodes: RayNodes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"INFERD_CLUSTER": "ray", "INFERD_RAY_ADDRESS": nodes.cluster.address}
    process = ServerProcess(tmp_path_factory.mktemp("ray-server") / "data", extra_env=env).start(timeout_s=120)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def es(server: ServerProcess, echo_model: TestModel) -> Elasticsearch:
    client = client_for(server.url, connections_per_node=32)
    upload_test_model(client, MODEL_ID, echo_model)
    return client


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


def inferd_nodes(http: httpx.Client) -> dict[str, dict[str, Any]]:
    response = http.get("/_inferd/nodes")
    assert response.status_code == 200, response.text
    return {node["node_id"]: node for node in response.json()["nodes"]}


def routed_nodes(es: Elasticsearch) -> dict[str, int]:
    """The deployment's routing table as `_stats` shows it: allocations per node id."""
    stats = deployment_stats(es, MODEL_ID, DEPLOYMENT)
    assert stats is not None
    return {next(iter(entry["node"])): entry["number_of_allocations"] for entry in stats["nodes"]}


def allocation_status(es: Elasticsearch) -> dict[str, Any]:
    stats = deployment_stats(es, MODEL_ID, DEPLOYMENT)
    assert stats is not None
    return dict(stats["allocation_status"])


def assert_clean(load: Load) -> None:
    assert load.failures == [], load.failures[:5]
    assert load.wrong == []
    assert load.ok > 50, "the load did not run"


def test_allocations_spread_over_the_ray_nodes_and_resize_under_load(
        nodes: RayNodes, es: Elasticsearch, http: httpx.Client) -> None:
    known = inferd_nodes(http)
    assert set(known) == nodes.ids()  # the head offers no inferd_ml: it is no ML node
    for ray_node in nodes.ml:
        node = known[ray_node.node_id]
        assert (node["processors"], node["memory_bytes"], node["available"]) == (1, NODE_MEMORY, True)
        assert node["address"] == f"{ray_node.node_ip_address}:{ray_node.node_manager_port}" and node["name"]

    assignment = es.ml.start_trained_model_deployment(
        model_id=MODEL_ID, deployment_id=DEPLOYMENT, number_of_allocations=3, wait_for="fully_allocated",
        timeout="120s")["assignment"]
    assert set(assignment["routing_table"]) == nodes.ids()
    assert routed_nodes(es) == dict.fromkeys(nodes.ids(), 1)
    stats = deployment_stats(es, MODEL_ID, DEPLOYMENT)
    assert stats is not None
    for entry in stats["nodes"]:
        ((node_id, info),) = entry["node"].items()
        assert info["transport_address"] == known[node_id]["address"] and info["name"] == known[node_id]["name"]
    assert len({worker["pid"] for worker in workers(http, DEPLOYMENT)}) == 3  # a worker per node
    # The build's definition reached the nodes by its SHA-256 and is cached on their (here: shared) disk.
    assert [path.suffix for path in (nodes.cache_dir / "definitions").iterdir()] == [".pt"]
    response = es.ml.infer_trained_model(model_id=DEPLOYMENT, docs=[{"text_field": "the cat"}])
    assert response["inference_results"][0]["predicted_value"] == echo_rows("the cat")

    with Load(es, DEPLOYMENT, clients=8) as load:
        time.sleep(1)
        es.ml.update_trained_model_deployment(model_id=DEPLOYMENT, number_of_allocations=1)
        eventually(lambda: len(routed_nodes(es)) == 1, timeout_s=60, what="two nodes' routes retired")
        time.sleep(1)
        es.ml.update_trained_model_deployment(model_id=DEPLOYMENT, number_of_allocations=3)
        eventually(lambda: allocation_status(es)["state"] == "fully_allocated", timeout_s=120, what="three again")
        served = load.ok
        eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic on three nodes")
    assert_clean(load)
    assert routed_nodes(es) == dict.fromkeys(nodes.ids(), 1)


def test_a_rollout_across_the_nodes_fails_no_request(es: Elasticsearch, http: httpx.Client) -> None:
    before = {worker["pid"] for worker in workers(http, DEPLOYMENT)}
    with Load(es, DEPLOYMENT, clients=8) as load:
        time.sleep(1)
        response = http.post(f"/_inferd/deployments/{DEPLOYMENT}/_restart", timeout=300)
        assert response.status_code == 200, response.text
        served = load.ok
        eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic after the rollout")
    assert_clean(load)
    after = {worker["pid"] for worker in workers(http, DEPLOYMENT)}
    assert len(after) == 3 and not after & before


def test_a_crashed_worker_restarts_on_its_node_and_its_requests_are_retried_elsewhere(
        es: Elasticsearch, http: httpx.Client) -> None:
    node = next(iter(routed_nodes(es)))
    with Load(es, DEPLOYMENT, clients=8) as load:
        time.sleep(1)
        old_pid = kill_worker(http, DEPLOYMENT, node)  # the simulated nodes share this machine's process table
        eventually(serving_again(http, DEPLOYMENT, old_pid), timeout_s=60, what="the worker restarted")
        served = load.ok
        eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic after the restart")
    assert_clean(load)
    assert {worker["node"] for worker in workers(http, DEPLOYMENT)} == set(routed_nodes(es))  # still on its node


def worker_pids(http: httpx.Client) -> set[int]:
    return {worker["pid"] for worker in workers(http, DEPLOYMENT)}


def answers(server: ServerProcess) -> bool:
    try:
        return httpx.get(f"{server.url}/", headers=auth_headers(server.url), timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def restart_under_load(server: ServerProcess, es: Elasticsearch, http: httpx.Client, end: Callable[[], None]) -> None:
    """End the server (`end`) and start another on its data dir while clients send requests; the new server adopts
    the running workers: its first inference, and every one after, is served by the old server's worker processes."""
    before = worker_pids(http)
    assert len(before) == 3
    with Load(es, DEPLOYMENT, clients=4) as load:
        time.sleep(0.5)
        end()
        server.launch()
        eventually(lambda: answers(server), timeout_s=120, what="the new server answering", period_s=0.02)
        response = es.ml.infer_trained_model(model_id=DEPLOYMENT, docs=[{"text_field": "the cat"}])
        assert response["inference_results"][0]["predicted_value"] == echo_rows("the cat")
        assert worker_pids(http) == before  # adopted: no worker process was started
        served = load.ok
        eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic after the restart")
    server.wait_ready(120)
    # The only failures are calls no server answered (while none ran): every answer, the old server's and the new
    # one's from the moment it listens, is a correct result.
    assert [failure for failure in load.failures if failure[0] != -1] == [], load.failures[:5]
    assert load.wrong == []
    assert allocation_status(es)["state"] == "fully_allocated" and worker_pids(http) == before


def test_a_killed_server_s_successor_adopts_its_running_workers_and_serves_at_once(
        server: ServerProcess, es: Elasticsearch, http: httpx.Client) -> None:
    restart_under_load(server, es, http, server.kill)  # SIGKILL, as after a crash: nothing tells the nodes


def test_a_stopped_server_lets_its_workers_go_and_its_successor_adopts_them(
        server: ServerProcess, es: Elasticsearch, http: httpx.Client) -> None:
    restart_under_load(server, es, http, server.stop)  # SIGTERM: the server drains, then leaves the workers running


def test_a_successor_with_other_worker_settings_stops_the_old_workers_and_starts_its_own(
        server: ServerProcess, es: Elasticsearch, http: httpx.Client) -> None:
    before = worker_pids(http)
    server.kill()
    server.extra_env["INFERD_MAX_BATCH_TOKENS"] = "256"  # what the workers run with: the old ones do not fit it
    server.start(timeout_s=120)
    eventually(lambda: allocation_status(es)["state"] == "fully_allocated", timeout_s=120, what="all three again")
    assert len(after := worker_pids(http)) == 3 and not after & before
    # Stopped by the new server, not left to end by themselves after the orphan timeout (60 s).
    eventually(lambda: not any(psutil.pid_exists(pid) for pid in before), timeout_s=20, what="the old workers gone")
    response = es.ml.infer_trained_model(model_id=DEPLOYMENT, docs=[{"text_field": "the cat"}])
    assert response["inference_results"][0]["predicted_value"] == echo_rows("the cat")


def test_a_node_lost_under_load_moves_its_allocation_and_a_new_node_fills_the_shortfall(
        nodes: RayNodes, es: Elasticsearch, http: httpx.Client) -> None:
    es.ml.update_trained_model_deployment(model_id=DEPLOYMENT, number_of_allocations=2)
    eventually(lambda: len(routed_nodes(es)) == 2, timeout_s=60, what="one node freed")
    (lost, *_) = routed_nodes(es)
    with Load(es, DEPLOYMENT, clients=16) as load:
        time.sleep(1)
        nodes.remove(lost)
        eventually(lambda: lost not in routed_nodes(es) and allocation_status(es)["state"] == "fully_allocated",
                   timeout_s=120, what="the lost node's allocation re-placed")
        failed = len(load.failures)
        served = load.ok
        eventually(lambda: load.ok > served + 20, timeout_s=30, what="traffic after the loss")
    assert load.wrong == []
    # Only what the lost node held could fail (the server retries it once elsewhere), and each says why.
    assert len(load.failures) == failed <= 16, load.failures[:3]
    assert all(status in (409, 500) for status, _ in load.failures), load.failures[:3]
    assert routed_nodes(es) == dict.fromkeys(nodes.ids(), 1)
    assert inferd_nodes(http)[lost]["available"] is False

    # Three asked of two nodes: a shortfall, with its reason, until a node joins the cluster.
    es.ml.update_trained_model_deployment(model_id=DEPLOYMENT, number_of_allocations=3)
    assert allocation_status(es) == {"allocation_count": 2, "target_allocation_count": 3, "state": "started"}
    stats = deployment_stats(es, MODEL_ID, DEPLOYMENT)
    assert stats is not None and "Could not assign (more) allocations" in stats["reason"]
    joined = nodes.add().node_id
    eventually(lambda: allocation_status(es)["state"] == "fully_allocated", timeout_s=120, what="the new node used")
    assert routed_nodes(es)[joined] == 1
    es.ml.stop_trained_model_deployment(model_id=DEPLOYMENT)
