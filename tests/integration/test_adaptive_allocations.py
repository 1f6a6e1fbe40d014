"""Adaptive allocations end to end, for what needs a real server and its processes: an idle deployment scales to
zero and its worker process ends; a burst of inferences at zero, through the real client, waits for the new
worker (none fails); the scaler's events say what it did; a restart keeps the settings and the count.

The scaler's decisions under load (scale up, the cooldown, scale down) are measured counters and timing, which a
busy 2-core machine makes flaky: they are unit tests on the fake clock, over real routes
(tests/unit/control/test_adaptive.py::test_the_scaler_sizes_a_deployment_to_the_load_its_routes_measure).

The module runs its own server with a 1 s scaler interval, a 3 s scale-up cooldown and the shortest
scale-to-zero time allowed (60 s). The model is the slow echo model: each `slow` word in a document is real work
on the allocation, and every answer echoes its own document, so each client checks its own result.

The burst at zero is sent the moment the scale to zero shows, while the last route usually still drains and its
worker exits: no request may be sent to that worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from elasticsearch import ApiError, Elasticsearch

from tests.support.api import (
    deployment_stats,
    echoed_ids,
    error,
    eventually,
    expected_ids,
    scaling_events,
    workers,
)
from tests.support.load import PLAIN_WORDS
from tests.support.models import SLOW_WORD, TestModel, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

pytestmark = pytest.mark.slow

MODEL = "adaptive-slow"
ADAPTIVE = {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 2}
SCALE_UP_COOLDOWN_S = 3
SCALE_TO_ZERO_AFTER_S = 60
BURST = 20
"""Inferences that arrive together at zero allocations: all wait for the one allocation they ask for."""
SLOW_WORDS = 1
"""Work per document in every phase, so the scaler's inference time estimate stays the same throughout."""


@pytest.fixture(scope="module")
def adaptive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("adaptive") / "data", extra_args=[
        "--processors", "2",
        "--adaptive-interval", "1",
        "--scale-up-cooldown", str(SCALE_UP_COOLDOWN_S),
        "--scale-to-zero-after", str(SCALE_TO_ZERO_AFTER_S),
    ]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def adaptive_http(adaptive_server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(adaptive_server.url) as client:
        yield client


def document(words: str) -> str:
    return f"{' '.join([SLOW_WORD] * SLOW_WORDS)} {words}"


def scaling_changes(http: httpx.Client) -> list[dict[str, Any]]:
    """The events that changed the number of allocations, oldest first."""
    return [event for event in reversed(scaling_events(http, MODEL))
            if event["action"] in ("scaled", "scale_from_zero")]


def latest_inputs(http: httpx.Client, *names: str) -> tuple[Any, ...] | None:
    """Inputs of the scaler's latest decision (None before its first)."""
    events = scaling_events(http, MODEL)
    if not events or "inputs" not in events[0]:
        return None
    return tuple(events[0]["inputs"][name] for name in names)


def allocations(es: Elasticsearch) -> int:
    stats = deployment_stats(es, MODEL)
    assert stats is not None
    return stats["number_of_allocations"]


def test_a_deployment_scales_to_zero_when_idle_and_back_from_zero_on_demand(
    adaptive_server: ServerProcess, adaptive_http: httpx.Client, slow_model: TestModel
) -> None:
    es = client_for(adaptive_server.url, connections_per_node=BURST + 4)  # retries off
    http = adaptive_http
    upload_test_model(es, MODEL, slow_model)
    failures: list[str] = []

    # --- started: one allocation (the minimum, 0, starts at 1), and it serves --------------------------
    assignment = es.ml.start_trained_model_deployment(model_id=MODEL, adaptive_allocations=ADAPTIVE)["assignment"]
    assert assignment["task_parameters"]["number_of_allocations"] == 1
    assert assignment["adaptive_allocations"] == ADAPTIVE
    assert assignment["assignment_state"] == "started"
    # Answers first, so the scaler knows the inference time, as it would for any deployment that served before
    # it scaled to zero (without one, Elasticsearch's scaler takes 1 s per request: a burst would look huge).
    # One document takes the new worker's first-call cost, then a batch of 16 gives the time per document.
    for words in (["the cat"], [f"{PLAIN_WORDS[i]} {PLAIN_WORDS[i + 16]}" for i in range(16)]):
        texts = [document(text) for text in words]
        results = es.ml.infer_trained_model(model_id=MODEL, docs=[{"text_field": text} for text in texts])
        assert [echoed_ids(result) for result in results["inference_results"]] == [expected_ids(t) for t in texts]
    idle_since = time.monotonic()
    (first_worker,) = workers(http, MODEL)

    # --- the update rules, while it idles ------------------------------------------------------------
    with pytest.raises(ApiError) as refused:
        es.ml.update_trained_model_deployment(model_id=MODEL, number_of_allocations=2)
    assert error(refused) == (
        400, "validation_exception",
        "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive allocations is enabled;",
    )
    unbounded = {"enabled": True, "min_number_of_allocations": 0}
    response = es.ml.update_trained_model_deployment(model_id=MODEL, adaptive_allocations={"max_number_of_allocations": -1})
    assert response["assignment"]["adaptive_allocations"] == unbounded  # -1 clears it; the rest is kept
    # The count is the scaler's from here: it may already have answered the batch of 16 with a second allocation
    # (its decisions are unit tests on the fake clock). What the updates decide is that the count stays in bounds.
    stats = deployment_stats(es, MODEL)
    assert stats is not None and stats["adaptive_allocations"] == unbounded and stats["number_of_allocations"] >= 1
    response = es.ml.update_trained_model_deployment(model_id=MODEL, adaptive_allocations={"max_number_of_allocations": 2})
    assert response["assignment"]["adaptive_allocations"] == ADAPTIVE
    assert response["assignment"]["task_parameters"]["number_of_allocations"] in (1, 2)

    # --- idle: scaled to zero allocations, still started ----------------------------------------------
    eventually(lambda: (latest_inputs(http, "time_without_requests_s") or (0,))[0] > SCALE_TO_ZERO_AFTER_S - 2,
               SCALE_TO_ZERO_AFTER_S + 30, "an idle minute")
    at_zero: list[dict[str, Any]] = []

    def scaled_to_zero() -> bool:
        stats = deployment_stats(es, MODEL)
        assert stats is not None
        at_zero[:] = [stats] if stats["number_of_allocations"] == 0 else []
        return bool(at_zero)

    eventually(scaled_to_zero, 30, "a scale to zero", period_s=0.005)  # seen at once: its last route is draining
    assert time.monotonic() - idle_since >= SCALE_TO_ZERO_AFTER_S

    # --- a burst at zero, its last route perhaps still draining: each request waits for the allocation it asked
    # for, none fails --------------------------------------------------------------------------------------------
    answers: dict[int, list[int]] = {}
    lock = threading.Lock()
    texts = [document(f"{PLAIN_WORDS[i]} {PLAIN_WORDS[-1 - i]}") for i in range(BURST)]

    def infer(index: int) -> None:
        try:
            response = es.ml.infer_trained_model(model_id=MODEL, docs=[{"text_field": texts[index]}], timeout="60s")
            with lock:
                answers[index] = echoed_ids(response["inference_results"][0])
        except Exception as failure:  # noqa: BLE001 - every failure counts
            with lock:
                failures.append(f"burst {index}: {failure!r}")

    burst = [threading.Thread(target=infer, args=(index,)) for index in range(BURST)]
    for thread in burst:
        thread.start()
    most_waiting = 0
    while any(thread.is_alive() for thread in burst):
        stats = deployment_stats(es, MODEL)
        assert stats is not None
        most_waiting = max(most_waiting, stats["inferd"]["adaptive_allocations"]["requests_waiting_for_allocation"])
        time.sleep(0.05)
    for thread in burst:
        thread.join()
    assert failures == []
    assert answers == {index: expected_ids(text) for index, text in enumerate(texts)}
    assert 0 < most_waiting <= BURST

    # At zero, it was started, with no allocation to serve, and the scaler said so.
    (stats,) = at_zero
    assert stats["state"] == "started"
    assert stats["allocation_status"]["target_allocation_count"] == 0
    assert stats["allocation_status"]["state"] == "fully_allocated"
    assert stats["adaptive_allocations"] == ADAPTIVE
    scaler = stats["inferd"]["adaptive_allocations"]
    assert (scaler["requests_waiting_for_allocation"], scaler["current_allocations"], scaler["needed_allocations"]) == (
        0, 0, 0)
    changes = scaling_changes(http)
    assert [(e["action"], e["allocations"], e.get("rule")) for e in changes[:2]] == [
        ("scaled", 0, "scale_to_zero"), ("scale_from_zero", 1, None)]
    to_zero, from_zero = changes[:2]
    # The burst's answers, timed on a worker that has just loaded its model, may justify a second allocation by
    # Elasticsearch's rule (seen on a busy machine): then it is the scaler's decision, and it is undone once the
    # cooldown allows, before the rest of the test.
    burst_changes = [(e["action"], e["allocations"], e.get("rule")) for e in changes[2:]]
    assert burst_changes in ([], [("scaled", 2, "scale_up")], [("scaled", 2, "scale_up"), ("scaled", 1, "scale_down")])
    if burst_changes:
        assert changes[2]["inputs"]["needed_allocations"] == 2
        eventually(lambda: len(scaling_changes(http)) == 4 and allocations(es) == 1, 60,
                   "the burst's second allocation to go once the cooldown allows")
        eventually(lambda: [w["allocations"] for w in workers(http, MODEL)] == [1], 30, "the worker to run 1 allocation")
        burst_changes = [("scaled", 2, "scale_up"), ("scaled", 1, "scale_down")]
    assert scaler["last_decision_time"] <= to_zero["timestamp"]  # the decision comes just before its event
    inputs = to_zero["inputs"]
    assert (inputs["current_allocations"], inputs["needed_allocations"], inputs["new_allocations"]) == (1, 0, 0)
    assert inputs["time_without_requests_s"] > SCALE_TO_ZERO_AFTER_S
    assert (inputs["min_number_of_allocations"], inputs["max_number_of_allocations"]) == (0, 2)
    events = scaling_events(http, MODEL)
    idle = events[events.index(to_zero) + 1]  # the polls before it had nothing to do: one event, folded
    assert (idle["action"], idle["allocations"], idle["rule"]) == ("no_change", 1, "no_change")
    assert idle["repeats"] > 30 and idle["first_timestamp"] < idle["timestamp"]
    assert "inputs" not in from_zero  # asked for by the inferences, not decided by the scaler
    assert from_zero["timestamp"] >= to_zero["timestamp"]

    # Back to one allocation, on a new worker: the one that served before ended at zero.
    stats = deployment_stats(es, MODEL)
    assert stats is not None
    assert stats["number_of_allocations"] == 1 and stats["state"] == "started"
    assert stats["allocation_status"] == {"allocation_count": 1, "target_allocation_count": 1,
                                          "state": "fully_allocated"}
    assert stats["inferd"]["adaptive_allocations"]["requests_waiting_for_allocation"] == 0
    assert stats["inference_count"] == BURST  # the new route counts from zero
    (worker,) = workers(http, MODEL)
    assert worker["pid"] != first_worker["pid"] and worker["allocations"] == 1
    eventually(lambda: not psutil.pid_exists(first_worker["pid"]), 30, "the first worker to exit")

    stats = deployment_stats(es, MODEL)
    assert stats is not None
    assert "error_count" not in stats and "rejected_execution_count" not in stats and "timeout_count" not in stats
    assert [(e["action"], e["allocations"], e.get("rule")) for e in scaling_changes(http)] == [
        ("scaled", 0, "scale_to_zero"), ("scale_from_zero", 1, None), *burst_changes]

    # --- the settings and the scaled count outlive the server -----------------------------------------
    adaptive_server.restart()
    stats = deployment_stats(es, MODEL)
    assert stats is not None
    assert stats["adaptive_allocations"] == ADAPTIVE
    assert stats["number_of_allocations"] == 1 and stats["state"] == "started"
    text = document("big house")
    result = es.ml.infer_trained_model(model_id=MODEL, docs=[{"text_field": text}])["inference_results"][0]
    assert echoed_ids(result) == expected_ids(text)
    assert failures == []
    es.ml.stop_trained_model_deployment(model_id=MODEL)
