"""Active-model workflows over HTTP on the real server: a new build deployed and rolled back under continuous load,
stop and start again, a second change refused, and a server killed mid-rollout.

The load is 16 clients with retries off against a deployment whose builds mark their answers (the echo model's
second column is the build's marker), so each answer shows which build gave it: the workflow must fail no request,
and once its call returns every request sent after it must be answered by the target build.

The rollout machinery itself (a resize in place, new threads beside the old worker, a restart, a build that fails
its check, a stop mid-rollout, memory that cannot hold both builds) is unit tests over the manager with in-process
and scripted workers: tests/unit/control/test_rollouts.py. The CLI's rollouts, a failing one included, are
tests/integration/test_cli_workflows.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch, NotFoundError

from tests.support.api import eventually
from tests.support.build_models import marked_echo_model, marker_of, upload_build
from tests.support.load import Load
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

CLIENTS = 16
LOAD_S = 1.0
"""How long the load runs before and after each call, so the call happens under it."""


class Answers:
    """Which build answered each request, by when the request was sent."""

    def __init__(self) -> None:
        self._seen: list[tuple[float, int]] = []
        self._lock = threading.Lock()

    def __call__(self, sent: float, result: dict[str, Any]) -> None:
        with self._lock:
            self._seen.append((sent, marker_of(result)))

    def sent_after(self, moment: float) -> set[int]:
        with self._lock:
            return {marker for sent, marker in self._seen if sent > moment}

    def all(self) -> list[tuple[float, int]]:
        with self._lock:
            return list(self._seen)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TestModel]:
    root = tmp_path_factory.mktemp("rollout-models")
    return {"one": marked_echo_model(root, 1), "two": marked_echo_model(root, 2)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("rollouts") / "data", extra_args=["--processors", "2"]).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def es(server: ServerProcess) -> Elasticsearch:
    return client_for(server.url, connections_per_node=CLIENTS + 4)


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


@pytest.fixture
def deployed(es: Elasticsearch, http: httpx.Client, models: dict[str, TestModel],
             request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh model (build 1, marker 1) deployed 1x1; stopped and deleted afterwards."""
    model_id = request.node.name.replace("test_", "").replace("_", "-")[:60]
    upload_test_model(es, model_id, models["one"])
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    yield model_id
    http.post(f"/_inferd/deployments/{model_id}/_stop")
    es.ml.delete_trained_model(model_id=model_id, force=True)


def run_under_load(es: Elasticsearch, model_id: str, call: Any) -> tuple[Load, Answers, Any, float]:
    """Run `call()` while 16 clients send inferences; returns the load, who answered, the call's result and when
    it returned."""
    answers = Answers()
    with Load(es, model_id, clients=CLIENTS, on_answer=answers) as load:
        time.sleep(LOAD_S)
        result = call()
        returned = time.monotonic()
        time.sleep(LOAD_S)
    return load, answers, result, returned


def assert_clean(load: Load) -> None:
    assert load.failures == [], load.failures[:5]
    assert load.wrong == []
    assert load.ok > 100, "the load did not run"


def history(http: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    response = http.get(f"/_inferd/deployments/{deployment_id}/history")
    assert response.status_code == 200, response.text
    return response.json()["history"]


def post(http: httpx.Client, path: str, body: dict[str, Any] | None = None, **params: str) -> httpx.Response:
    return http.post(path, json=body, params=params, timeout=120)


def test_deploy_build_2_then_roll_back_to_build_1(
        es: Elasticsearch, http: httpx.Client, deployed: str, models: dict[str, TestModel]) -> None:
    build = upload_build(http, deployed, models["two"])
    assert build == 2
    load, answers, response, returned = run_under_load(es, deployed, lambda: post(
        http, f"/_inferd/deployments/{deployed}/_redeploy", {"build": 2, "number_of_allocations": 2}))
    assert response.status_code == 200, response.text
    assert_clean(load)
    assert answers.sent_after(returned) == {2}
    assert {marker for _, marker in answers.all()} == {1, 2}  # build 1 answered before the switch
    view = http.get(f"/_inferd/deployments/{deployed}").json()
    assert (view["build_number"], view["lifecycle"]) == (2, "deployed")
    assert {(route["build_number"], route["role"]) for route in view["routes"]} == {(2, "serving")}

    load, answers, response, returned = run_under_load(es, deployed, lambda: post(
        http, f"/_inferd/deployments/{deployed}/_rollback"))
    assert response.status_code == 200, response.text
    assert_clean(load)
    assert answers.sent_after(returned) == {1}
    rollout = response.json()["rollout"]
    assert (rollout["from"]["build_number"], rollout["to"]["build_number"]) == (2, 1)
    assert rollout["to"]["settings"]["number_of_allocations"] == 1  # the resources build 1 had
    actions = [(e["action"], e["build_before"], e["build_after"], e["outcome"], e["actor"])
               for e in history(http, deployed)]
    assert actions[:3] == [("rollback", 2, 1, "succeeded", "inferd-admin"), ("redeploy", 1, 2, "succeeded", "inferd-admin"),
                           ("start", None, 1, "succeeded", "inferd-admin")]


def test_stopped_deployments_start_again_with_their_last_settings(
        es: Elasticsearch, http: httpx.Client, deployed: str) -> None:
    assert post(http, f"/_inferd/deployments/{deployed}/_redeploy", {"number_of_allocations": 2}).status_code == 200
    stopped = post(http, f"/_inferd/deployments/{deployed}/_stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["lifecycle"] == "stopped"
    stats = es.ml.get_trained_models_stats(model_id=deployed)["trained_model_stats"][0]
    assert "deployment_stats" not in stats  # gone for Elasticsearch, as after its _stop
    with pytest.raises(NotFoundError):
        es.ml.update_trained_model_deployment(model_id=deployed, number_of_allocations=1)
    listed = {d["deployment_id"]: d["lifecycle"] for d in http.get("/_inferd/deployments").json()["deployments"]}
    assert listed[deployed] == "stopped"

    started = post(http, f"/_inferd/deployments/{deployed}/_start")
    assert started.status_code == 200, started.text
    assert (started.json()["lifecycle"], started.json()["settings"]["number_of_allocations"]) == ("deployed", 2)
    result = es.ml.infer_trained_model(model_id=deployed, docs=[{"text_field": "hello world"}])
    assert marker_of(result["inference_results"][0]) == 1
    assert [e["action"] for e in history(http, deployed)][:3] == ["start_again", "stop", "redeploy"]

    # Elasticsearch's _start with the same id starts afresh with what it is given, in the same history.
    post(http, f"/_inferd/deployments/{deployed}/_stop")
    es.ml.start_trained_model_deployment(model_id=deployed, number_of_allocations=1, wait_for="started")
    assert http.get(f"/_inferd/deployments/{deployed}").json()["settings"]["number_of_allocations"] == 1
    assert [e["action"] for e in history(http, deployed)][:2] == ["start", "stop"]


def test_a_second_change_during_a_rollout_is_refused(es: Elasticsearch, http: httpx.Client, deployed: str) -> None:
    response = post(http, f"/_inferd/deployments/{deployed}/_restart", wait_for="none")
    assert response.status_code == 200, response.text
    assert response.json()["rollout"]["outcome"] == "in_progress"
    again = post(http, f"/_inferd/deployments/{deployed}/_restart")
    assert again.status_code == 409, again.text
    assert "is in progress" in again.json()["error"]["reason"]
    eventually(lambda: http.get(f"/_inferd/deployments/{deployed}").json()["rollout"]["stage"] == "done",
               timeout_s=60, what="the restart to finish")


def test_killing_the_server_mid_rollout_leaves_one_build_consistent_with_the_history(
        tmp_path: Path, models: dict[str, TestModel]) -> None:
    server = ServerProcess(tmp_path / "data", extra_args=["--processors", "2"]).start()
    try:
        es = client_for(server.url)
        with http_for(server.url) as http:
            upload_test_model(es, "mid", models["one"])
            es.ml.start_trained_model_deployment(model_id="mid", wait_for="started")
            upload_build(http, "mid", models["two"])
            response = post(http, "/_inferd/deployments/mid/_redeploy", {"build": 2}, wait_for="none")
            assert response.status_code == 200, response.text
            server.restart()  # SIGKILL while the new worker starts, then start again
            view = http.get("/_inferd/deployments/mid").json()
            latest = history(http, "mid")[0]
            assert latest["action"] == "redeploy"
            assert latest["outcome"] in ("interrupted", "succeeded")
            expected = 2 if latest["outcome"] == "succeeded" else 1
            assert view["build_number"] == expected
            eventually(lambda: http.get("/_inferd/deployments/mid").json()["lifecycle"] == "deployed", timeout_s=60)
            result = es.ml.infer_trained_model(model_id="mid", docs=[{"text_field": "hello"}])
            assert marker_of(result["inference_results"][0]) == expected
            assert {r["build_number"] for r in http.get("/_inferd/deployments/mid").json()["routes"]} == {expected}
    finally:
        server.stop()
