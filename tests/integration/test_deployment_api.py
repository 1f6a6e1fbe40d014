"""The trained-model deployment APIs over the real client and server: start, infer, update, stop, stats, delete.

Uploading a model costs seconds (the server checks the definition), so the module uploads the echo model
once and the slow model once; tests deploy them under deployment ids derived from their own `model_id`,
and every deployment a test starts is stopped when it ends. The slow model stays deployed for the whole
module and serves the inference tests: without the word `slow` it answers exactly as the echo model does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, BadRequestError, ConflictError, Elasticsearch, NotFoundError
from elasticsearch.exceptions import ElasticsearchWarning

from tests.support.api import CLS, SEP, deployment_stats, echo_rows, error, eventually, http_error, workers
from tests.support.models import SLOW_WORD, VOCABULARY, TestModel, upload_test_model
from tests.support.server import ServerProcess

VALIDATION = "action_request_validation_exception"
THREADS_POWER_OF_TWO = "[threads_per_allocation] must be a power of 2 less than or equal to 32"
NOT_DEPLOYED = "Model [{}] must be deployed to use. Please deploy with the start trained model deployment API."
DEPRECATED_INFER = (
    "[POST /_ml/trained_models/{model_id}/deployment/_infer] is deprecated! "
    "Use [POST /_ml/trained_models/{model_id}/_infer] instead."
)
MODULE_DIGEST = hashlib.sha1(__name__.encode()).hexdigest()[:8]


# --- helpers ---------------------------------------------------------------------------------------


def validation(*messages: str) -> str:
    return "Validation Failed: " + "".join(f"{n}: {message};" for n, message in enumerate(messages, 1))


def predicted(response: Any) -> list[Any]:
    return [result["predicted_value"] for result in response["inference_results"]]


def stats_entries(es: Elasticsearch, model_id: str, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    response = es.ml.get_trained_models_stats(model_id=model_id, **params)
    return response["count"], response["trained_model_stats"]


def parse_iso(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def echo_id(es: Elasticsearch, echo_model: TestModel) -> Iterator[str]:
    """The echo model, uploaded once for the module; deleted (with any deployment left) at its end."""
    model_id = f"t-deployment-api-echo-{MODULE_DIGEST}"
    upload_test_model(es, model_id, echo_model)
    yield model_id
    es.ml.delete_trained_model(model_id=model_id, force=True)


@pytest.fixture(scope="module")
def serving(es: Elasticsearch, slow_model: TestModel) -> Iterator[str]:
    """The slow model, uploaded and deployed once for the module (deployment id = model id)."""
    model_id = f"t-deployment-api-slow-{MODULE_DIGEST}"
    upload_test_model(es, model_id, slow_model)
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    yield model_id
    es.ml.stop_trained_model_deployment(model_id=model_id, force=True)
    es.ml.delete_trained_model(model_id=model_id, force=True)


class Deployer:
    """Starts deployments and remembers their ids, so the test's teardown stops every one of them."""

    def __init__(self, es: Elasticsearch, http: httpx.Client) -> None:
        self.es = es
        self.http = http
        self.started: list[str] = []

    def start(self, model_id: str, deployment_id: str, **params: Any) -> dict[str, Any]:
        self.started.append(deployment_id)
        return self.es.ml.start_trained_model_deployment(
            model_id=model_id, deployment_id=deployment_id, **params
        )["assignment"]

    def post(self, model_id: str, deployment_id: str, query: str = "", body: Any = None) -> httpx.Response:
        """A raw `_start`, for what elasticsearch-py cannot send (body parameters, legacy names).

        The deployment id goes in the body when the body is a dict, else in the query string.
        """
        self.started.append(deployment_id)
        if isinstance(body, dict):
            body = {"deployment_id": deployment_id, **body}
        else:
            query = "&".join(filter(None, [f"deployment_id={deployment_id}", query]))
        return self.http.post(f"/_ml/trained_models/{model_id}/deployment/_start?{query}", json=body)

    def stop_all(self) -> None:
        # 404 is fine here: the test may have stopped it already, or the start was refused.
        quiet = self.es.options(ignore_status=404)
        for deployment_id in dict.fromkeys(self.started):
            quiet.ml.stop_trained_model_deployment(model_id=deployment_id, force=True)


@pytest.fixture
def deployer(es: Elasticsearch, http: httpx.Client) -> Iterator[Deployer]:
    deployer = Deployer(es, http)
    try:
        yield deployer
    finally:
        deployer.stop_all()


@pytest.fixture
def own_model(es: Elasticsearch, model_id: str) -> Iterator[str]:
    """For tests that create a model under their `model_id`: it is deleted (with its deployments) at the end."""
    yield model_id
    es.options(ignore_status=404).ml.delete_trained_model(model_id=model_id, force=True)


# --- _start ----------------------------------------------------------------------------------------


def test_start_with_defaults_returns_the_assignment(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str, echo_model: TestModel
) -> None:
    before = datetime.now(UTC)
    assignment = deployer.start(echo_id, model_id)
    after = datetime.now(UTC)

    assert assignment["task_parameters"] == {
        "model_id": echo_id,
        "deployment_id": model_id,
        "model_bytes": echo_model.size_bytes,
        "threads_per_allocation": 1,
        "number_of_allocations": 1,
        "queue_capacity": 1024,
        "cache_size": f"{echo_model.size_bytes}b",
        "priority": "normal",
        "per_deployment_memory_bytes": echo_model.config["metadata"]["per_deployment_memory_bytes"],
        "per_allocation_memory_bytes": echo_model.config["metadata"]["per_allocation_memory_bytes"],
    }
    assert list(assignment["routing_table"].values()) == [
        {"current_allocations": 1, "target_allocations": 1, "routing_state": "started"}
    ]
    assert assignment["assignment_state"] == "started"
    start_time = parse_iso(assignment["start_time"])
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= start_time <= after
    assert assignment["max_assigned_allocations"] == 1
    assert "adaptive_allocations" in assignment and assignment["adaptive_allocations"] is None
    assert "reason" not in assignment
    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None and stats["start_time"] == round(start_time.timestamp() * 1000)


def test_start_with_every_query_parameter(
    es: Elasticsearch, http: httpx.Client, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    assignment = deployer.start(
        echo_id, model_id, number_of_allocations=2, threads_per_allocation=2, queue_capacity=100_000,
        cache_size="10kb", priority="normal", wait_for="fully_allocated", timeout="30s",
    )
    parameters = assignment["task_parameters"]
    assert (parameters["number_of_allocations"], parameters["threads_per_allocation"]) == (2, 2)
    assert (parameters["queue_capacity"], parameters["cache_size"]) == (100_000, "10kb")
    assert list(assignment["routing_table"].values()) == [
        {"current_allocations": 2, "target_allocations": 2, "routing_state": "started"}
    ]
    assert assignment["max_assigned_allocations"] == 2

    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None
    assert {key: stats[key] for key in ("threads_per_allocation", "number_of_allocations", "queue_capacity",
                                         "cache_size", "priority")} == {
        "threads_per_allocation": 2, "number_of_allocations": 2, "queue_capacity": 100_000, "cache_size": "10kb",
        "priority": "normal",
    }
    assert stats["allocation_status"] == {"allocation_count": 2, "target_allocation_count": 2, "state": "fully_allocated"}
    (worker,) = workers(http, model_id)
    assert (worker["allocations"], worker["threads_per_allocation"]) == (2, 2)


def test_start_parameters_in_the_body(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    # The same value in the query string and the body is fine; the rest come from the body only.
    response = deployer.post(
        echo_id, model_id, "queue_capacity=7",
        {"queue_capacity": 7, "priority": "low", "cache_size": "0", "timeout": "30s", "wait_for": "started",
         "model_id": echo_id},
    )
    assert response.status_code == 200, response.text
    parameters = response.json()["assignment"]["task_parameters"]
    assert (parameters["deployment_id"], parameters["queue_capacity"]) == (model_id, 7)
    assert (parameters["priority"], parameters["cache_size"]) == ("low", "0")
    assert (parameters["number_of_allocations"], parameters["threads_per_allocation"]) == (1, 1)
    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None and (stats["priority"], stats["cache_size"], stats["queue_capacity"]) == ("low", "0", 7)


def test_start_body_refusals(es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str) -> None:
    response = deployer.post(echo_id, model_id, body={"number_of_allocations": 1, "bogus": 1})
    status, kind, reason = http_error(response)
    assert (status, kind) == (400, "x_content_parse_exception")
    assert "unknown field [bogus]" in reason

    response = deployer.post(echo_id, model_id, "number_of_allocations=2", {"number_of_allocations": 3})
    status, _, reason = http_error(response)
    assert status == 400 and "[number_of_allocations]" in reason

    response = deployer.post(echo_id, model_id, body={"model_id": "another-model"})
    assert http_error(response) == (
        400, "illegal_argument_exception",
        f"Inconsistent model_id; 'another-model' specified in the body differs from '{echo_id}' specified as a URL "
        "argument",
    )
    assert deployment_stats(es, echo_id, model_id) is None


START_REFUSALS = [
    pytest.param({"number_of_allocations": 0}, "[number_of_allocations] must be a positive integer", id="allocations-0"),
    pytest.param({"threads_per_allocation": 0}, "[threads_per_allocation] must be a positive integer", id="threads-0"),
    pytest.param({"threads_per_allocation": 3}, THREADS_POWER_OF_TWO, id="threads-3"),
    pytest.param({"threads_per_allocation": 64}, THREADS_POWER_OF_TWO, id="threads-64"),
    pytest.param({"queue_capacity": 0}, "[queue_capacity] must be a positive integer", id="queue-0"),
    pytest.param({"queue_capacity": 100_001}, "[queue_capacity] must be less than 100000", id="queue-100001"),
    pytest.param({"timeout": "0s"}, "[timeout] must be positive", id="timeout-0s"),
    pytest.param({"priority": "low", "number_of_allocations": 2}, "[number_of_allocations] must be 1 when [priority] is low",
                 id="low-priority-allocations"),
    pytest.param({"priority": "low", "threads_per_allocation": 2}, "[threads_per_allocation] must be 1 when [priority] is low",
                 id="low-priority-threads"),
    pytest.param({"number_of_allocations": 2, "adaptive_allocations": {"enabled": True}},
                 "[number_of_allocations] cannot be set if adaptive allocations is enabled", id="allocations-and-adaptive"),
    pytest.param({"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 3, "max_number_of_allocations": 2}},
                 "[min_number_of_allocations] must not be larger than [max_number_of_allocations]", id="adaptive-min-max"),
]


@pytest.mark.parametrize("params, message", START_REFUSALS)
def test_start_validation(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, **params)
    assert error(refused) == (400, VALIDATION, validation(message))
    assert deployment_stats(es, echo_id, model_id) is None


def test_start_validation_reports_every_failure_in_order(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, timeout="0s", queue_capacity=0, threads_per_allocation=3,
                       number_of_allocations=0)
    assert error(refused) == (400, VALIDATION, validation(
        "[number_of_allocations] must be a positive integer", THREADS_POWER_OF_TWO,
        "[queue_capacity] must be a positive integer", "[timeout] must be positive",
    ))
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, priority="low", threads_per_allocation=2, number_of_allocations=2)
    assert error(refused)[2] == validation(
        "[number_of_allocations] must be 1 when [priority] is low", "[threads_per_allocation] must be 1 when [priority] is low"
    )
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, wait_for="bogus", queue_capacity=0)
    status, kind, reason = error(refused)
    assert (status, kind) == (400, VALIDATION)
    first, second = reason.removeprefix("Validation Failed: 1: ").split(";2: ")
    assert "[wait_for]" in first and "[bogus]" in first
    assert second == "[queue_capacity] must be a positive integer;"
    assert deployment_stats(es, echo_id, model_id) is None


def test_start_unparseable_values(es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, number_of_allocations="abc")
    assert error(refused) == (
        400, "illegal_argument_exception", "Failed to parse int parameter [number_of_allocations] with value [abc]"
    )
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, timeout="abc")
    assert error(refused)[0] == 400
    assert "[timeout]" in error(refused)[2] and "[abc]" in error(refused)[2]
    assert deployment_stats(es, echo_id, model_id) is None


def test_legacy_parameter_names(es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str) -> None:
    response = deployer.post(echo_id, model_id, "inference_threads=2&model_threads=2")
    assert response.status_code == 200, response.text
    warnings = response.headers.get_list("warning")
    assert len(warnings) == 2
    assert "[inference_threads] is deprecated, use [threads_per_allocation] instead" in warnings[0]
    assert "[model_threads] is deprecated, use [number_of_allocations] instead" in warnings[1]
    parameters = response.json()["assignment"]["task_parameters"]
    assert (parameters["threads_per_allocation"], parameters["number_of_allocations"]) == (2, 2)
    assert "inference_threads" not in parameters and "model_threads" not in parameters
    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None and (stats["threads_per_allocation"], stats["number_of_allocations"]) == (2, 2)


def test_legacy_parameter_names_are_checked_like_the_new_ones(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    response = deployer.post(echo_id, model_id, "inference_threads=2&threads_per_allocation=2")
    status, kind, reason = http_error(response)
    assert (status, kind) == (400, "illegal_argument_exception")
    assert "[inference_threads]" in reason and "[threads_per_allocation]" in reason
    response = deployer.post(echo_id, model_id, body={"model_threads": 1, "number_of_allocations": 1})
    assert response.status_code == 400
    response = deployer.post(echo_id, model_id, "inference_threads=3")
    assert http_error(response) == (400, VALIDATION, validation(THREADS_POWER_OF_TWO))
    response = deployer.post(echo_id, model_id, "model_threads=0")
    assert http_error(response) == (400, VALIDATION, validation("[number_of_allocations] must be a positive integer"))
    assert deployment_stats(es, echo_id, model_id) is None


def test_adaptive_allocations_start_at_their_minimum(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    adaptive = {"enabled": True, "min_number_of_allocations": 2, "max_number_of_allocations": 4}
    assignment = deployer.start(echo_id, model_id, adaptive_allocations=adaptive)
    assert assignment["task_parameters"]["number_of_allocations"] == 2
    assert assignment["adaptive_allocations"] == adaptive
    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None and stats["adaptive_allocations"] == adaptive
    with pytest.raises(BadRequestError) as refused:
        es.ml.update_trained_model_deployment(model_id=model_id, number_of_allocations=3)
    assert error(refused) == (
        400, "validation_exception",
        validation("[number_of_allocations] cannot be set if adaptive allocations is enabled"),
    )


def test_wait_for_timeout_is_408_and_the_deployment_goes_on(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    with pytest.raises(ApiError) as late:
        deployer.start(echo_id, model_id, timeout="1ms")
    assert error(late) == (
        408, "status_exception",
        f"Timed out after [1ms] waiting for trained model deployment [{model_id}] to start. Use the trained model "
        "stats API to track the state of the deployment and try again once it has started.",
    )
    eventually(lambda: (deployment_stats(es, echo_id, model_id) or {}).get("state") == "started",
               what="the deployment reaching started")


def test_wait_for_starting_answers_before_the_worker_is_up(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    assignment = deployer.start(echo_id, model_id, wait_for="starting")
    assert assignment["assignment_state"] == "starting"
    assert [route["routing_state"] for route in assignment["routing_table"].values()] == ["starting"]
    assert es.ml.stop_trained_model_deployment(model_id=model_id).body == {"stopped": True}
    assert deployment_stats(es, echo_id, model_id) is None


# --- deployment ids --------------------------------------------------------------------------------


def test_a_deployment_id_is_taken_once(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str, own_model: str, echo_model: TestModel
) -> None:
    deployer.start(echo_id, model_id)
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id, number_of_allocations=2)
    assert error(refused) == (
        400, "status_exception",
        f"Could not start model deployment because an existing deployment with the same id [{model_id}] exist",
    )
    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None and stats["number_of_allocations"] == 1  # the first deployment is untouched

    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    assert error(refused) == (
        400, "status_exception", f"Cannot create model [{model_id}] the id is the same as an current model deployment"
    )
    with pytest.raises(NotFoundError):
        es.ml.get_trained_models(model_id=model_id)


def test_two_deployments_of_one_model_side_by_side(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    first, second = f"{model_id}-a", f"{model_id}-b"
    deployer.start(echo_id, first)
    deployer.start(echo_id, second, number_of_allocations=2)
    text = "the red car"
    for deployment_id in (first, second):
        response = es.ml.infer_trained_model(model_id=deployment_id, docs=[{"text_field": text}])
        assert predicted(response) == [echo_rows(text)]

    # By model id, the request goes to one of them.
    assert predicted(es.ml.infer_trained_model(model_id=echo_id, docs=[{"text_field": text}])) == [echo_rows(text)]
    count, entries = stats_entries(es, echo_id)
    assert count == 1
    assert [entry["model_id"] for entry in entries] == [echo_id, echo_id]
    assert [entry["deployment_stats"]["deployment_id"] for entry in entries] == [first, second]
    assert [entry["deployment_stats"]["number_of_allocations"] for entry in entries] == [1, 2]
    assert sum(entry["deployment_stats"]["nodes"][0]["inference_count"] for entry in entries) == 3
    assert all(entry["deployment_stats"]["nodes"][0]["inference_count"] >= 1 for entry in entries)

    es.ml.stop_trained_model_deployment(model_id=first)
    _, entries = stats_entries(es, echo_id)
    assert [entry["deployment_stats"]["deployment_id"] for entry in entries] == [second]
    assert predicted(es.ml.infer_trained_model(model_id=second, docs=[{"text_field": text}])) == [echo_rows(text)]


def test_deployment_id_of_another_model_is_refused(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str, own_model: str, echo_model: TestModel
) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)  # a config of its own is enough
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, model_id)
    assert error(refused) == (
        400, "status_exception",
        f"Deployment id [{model_id}] is the same as an another model which is not the model being deployed. "
        "Deployment id can be the same as the model being deployed but cannot match a different model",
    )
    assert deployment_stats(es, echo_id, model_id) is None


def test_an_invalid_deployment_id_is_refused(es: Elasticsearch, deployer: Deployer, echo_id: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        deployer.start(echo_id, "Not_Valid")
    assert error(refused) == (400, VALIDATION, validation(
        "Invalid deployment_id; 'Not_Valid' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; "
        "must start and end with alphanumeric"
    ))
    _, entries = stats_entries(es, echo_id)
    assert all("deployment_stats" not in entry for entry in entries)


def test_start_of_an_unknown_or_incomplete_model_is_404(
    es: Elasticsearch, deployer: Deployer, model_id: str, own_model: str, echo_model: TestModel
) -> None:
    with pytest.raises(NotFoundError) as missing:
        deployer.start(model_id, model_id)
    assert error(missing) == (404, "resource_not_found_exception", f"Could not find trained model [{model_id}]")

    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)  # no definition uploaded
    with pytest.raises(NotFoundError) as missing:
        deployer.start(model_id, model_id)
    assert error(missing) == (
        404, "resource_not_found_exception", f"Could not find trained model definition [{model_id}]"
    )
    _, (entry,) = stats_entries(es, model_id)
    assert "deployment_stats" not in entry


# --- _infer ----------------------------------------------------------------------------------------


def test_infer_echoes_each_document(es: Elasticsearch, serving: str) -> None:
    results = {}
    for text in ("the cat", "hello world", "Mary and John like music"):
        response = es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": text}])
        assert response["inference_results"][0].keys() == {"predicted_value"}
        results[text] = predicted(response)
        assert results[text] == [echo_rows(text)]
    assert [row[0] for row in results["hello world"][0]] == [
        CLS, VOCABULARY.index("hello"), VOCABULARY.index("world"), SEP
    ]
    assert results["the cat"] != results["hello world"]
    assert predicted(es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": "the cat"}])) == results["the cat"]
    # Several documents of one length in one request: one result each, in order.
    texts = ["the cat", "a dog", "the cat"]
    results_together = predicted(es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": t} for t in texts]))
    assert results_together == [echo_rows(text) for text in texts]


def test_infer_result_of_a_document_does_not_depend_on_its_batchmates(es: Elasticsearch, serving: str) -> None:
    texts = ["the cat", "Mary and John like music"]
    response = es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": text} for text in texts])
    assert predicted(response) == [echo_rows(text) for text in texts]


def test_infer_refusals(es: Elasticsearch, serving: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": "the cat"}, {"other_field": "a dog"}])
    assert error(refused) == (400, "status_exception", "Input field [text_field] does not exist in the source document")

    with pytest.raises(BadRequestError) as refused:
        es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": "the cat"}], inference_config={"ner": {}})
    status, _, reason = error(refused)
    assert status == 400
    assert f"Trained model [{serving}] is configured for task [pass_through] but called with task [ner]" in reason

    with pytest.raises(NotFoundError) as missing:
        es.ml.infer_trained_model(model_id=f"{serving}-missing", docs=[{"text_field": "the cat"}])
    assert error(missing) == (404, "resource_not_found_exception", f"Could not find trained model [{serving}-missing]")


def test_deprecated_infer_path(es: Elasticsearch, http: httpx.Client, serving: str) -> None:
    body = {"docs": [{"text_field": "big small"}]}
    response = http.post(f"/_ml/trained_models/{serving}/deployment/_infer", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"inference_results": [{"predicted_value": echo_rows("big small")}]}
    (warning,) = response.headers.get_list("warning")
    assert warning.startswith("299 ") and DEPRECATED_INFER in warning

    current = http.post(f"/_ml/trained_models/{serving}/_infer", json=body)
    assert current.json() == response.json() and "warning" not in current.headers

    with pytest.warns(ElasticsearchWarning, match=r"deployment/_infer\] is deprecated!"):
        es.perform_request(
            "POST", f"/_ml/trained_models/{serving}/deployment/_infer", body=body,
            headers={"accept": "application/json", "content-type": "application/json"},
        )


def test_infer_timeout_is_408_and_counted(es: Elasticsearch, serving: str) -> None:
    before = deployment_stats(es, serving, serving)
    assert before is not None
    with pytest.raises(ApiError) as late:
        es.ml.infer_trained_model(
            model_id=serving, docs=[{"text_field": " ".join([SLOW_WORD] * 50)}], timeout="0s"
        )
    assert error(late) == (408, "status_exception", "timeout [0s] waiting for inference result")
    after = deployment_stats(es, serving, serving)
    assert after is not None
    assert after["timeout_count"] == before.get("timeout_count", 0) + 1
    assert after["nodes"][0]["timeout_count"] == before["nodes"][0].get("timeout_count", 0) + 1
    # The deployment still answers (after the late work finishes).
    assert predicted(es.ml.infer_trained_model(model_id=serving, docs=[{"text_field": "one"}])) == [echo_rows("one")]


# --- _update ---------------------------------------------------------------------------------------


def test_update_number_of_allocations(
    es: Elasticsearch, http: httpx.Client, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    deployer.start(echo_id, model_id)
    assignment = es.ml.update_trained_model_deployment(model_id=model_id, number_of_allocations=2)["assignment"]
    assert assignment["task_parameters"]["number_of_allocations"] == 2
    assert [route["target_allocations"] for route in assignment["routing_table"].values()] == [2]
    assert assignment["max_assigned_allocations"] == 2
    stats = deployment_stats(es, echo_id, model_id)
    assert stats is not None and stats["number_of_allocations"] == 2
    assert stats["allocation_status"]["target_allocation_count"] == 2
    eventually(lambda: workers(http, model_id)[0]["allocations"] == 2, what="the worker running 2 allocations")

    with pytest.raises(BadRequestError) as refused:
        es.ml.update_trained_model_deployment(model_id=model_id, number_of_allocations=0)
    assert error(refused) == (400, VALIDATION, validation("[number_of_allocations] must be a positive integer"))

    assignment = es.ml.update_trained_model_deployment(model_id=model_id, number_of_allocations=1)["assignment"]
    assert assignment["task_parameters"]["number_of_allocations"] == 1
    assert assignment["max_assigned_allocations"] == 2  # the most it ever had
    text = "one two three"
    assert predicted(es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": text}])) == [echo_rows(text)]


def test_update_of_an_unknown_deployment_is_404(es: Elasticsearch, http: httpx.Client, model_id: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        es.ml.update_trained_model_deployment(model_id=model_id, number_of_allocations=2)
    assert error(missing) == (404, "resource_not_found_exception", f"No known model deployment with id [{model_id}]")
    response = http.post(f"/_ml/trained_models/{model_id}/deployment/_update?number_of_allocations=2")
    assert http_error(response)[:2] == (404, "resource_not_found_exception")
    with pytest.raises(BadRequestError) as refused:  # the request is checked before the deployment is looked up
        es.ml.update_trained_model_deployment(model_id=model_id, number_of_allocations=0)
    assert error(refused) == (400, VALIDATION, validation("[number_of_allocations] must be a positive integer"))


# --- _stop -----------------------------------------------------------------------------------------


def test_stop_ends_the_deployment(
    es: Elasticsearch, http: httpx.Client, deployer: Deployer, echo_id: str, model_id: str
) -> None:
    deployer.start(echo_id, model_id)
    assert predicted(es.ml.infer_trained_model(model_id=echo_id, docs=[{"text_field": "a"}])) == [echo_rows("a")]
    pid = workers(http, model_id)[0]["pid"]

    assert es.ml.stop_trained_model_deployment(model_id=model_id, force=True).body == {"stopped": True}
    _, entries = stats_entries(es, echo_id)
    assert all("deployment_stats" not in entry for entry in entries)
    with pytest.raises(ConflictError) as refused:
        es.ml.infer_trained_model(model_id=echo_id, docs=[{"text_field": "a"}])
    assert error(refused) == (409, "status_exception", NOT_DEPLOYED.format(echo_id))
    assert http.get(f"/_inferd/deployments/{model_id}/workers").status_code == 404
    eventually(lambda: not _alive(pid), what="the worker process exiting")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_of_an_unknown_deployment(es: Elasticsearch, http: httpx.Client, model_id: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        es.ml.stop_trained_model_deployment(model_id=model_id, allow_no_match=False)
    assert error(missing) == (404, "resource_not_found_exception", f"No known model deployment with id [{model_id}]")

    # allow_no_match, in the query or the body, decides whether a wildcard that matches nothing is an error.
    url = f"/_ml/trained_models/{model_id}-*/deployment/_stop"
    response = http.post(url)
    assert (response.status_code, response.json()) == (200, {"stopped": True})
    response = http.post(url, json={"allow_no_match": True, "force": True})
    assert (response.status_code, response.json()) == (200, {"stopped": True})
    assert http_error(http.post(f"{url}?allow_no_match=false"))[:2] == (404, "resource_not_found_exception")
    assert http_error(http.post(url, json={"allow_no_match": False, "force": True}))[:2] == (
        404, "resource_not_found_exception"
    )
    response = http.post(url, json={"allow_no_match": True, "bogus": True})
    assert http_error(response)[:2] == (400, "x_content_parse_exception")


def test_stop_with_allow_no_match_accepts_an_unknown_id(
    es: Elasticsearch, http: httpx.Client, model_id: str
) -> None:
    # Elasticsearch's YAML test "Test stop deployments with allow_no_match": a stopped (gone) id, allow_no_match true.
    assert es.ml.stop_trained_model_deployment(model_id=model_id, allow_no_match=True).body == {"stopped": True}
    response = http.post(f"/_ml/trained_models/{model_id}/deployment/_stop", json={"allow_no_match": True})
    assert (response.status_code, response.json()) == (200, {"stopped": True})


# --- cache/_clear ----------------------------------------------------------------------------------


def test_clear_cache(es: Elasticsearch, serving: str, model_id: str) -> None:
    assert es.ml.clear_trained_model_deployment_cache(model_id=serving).body == {"cleared": True}
    with pytest.raises(NotFoundError) as missing:
        es.ml.clear_trained_model_deployment_cache(model_id=model_id)
    assert error(missing) == (404, "resource_not_found_exception", f"No known model deployment with id [{model_id}]")


# --- _stats ----------------------------------------------------------------------------------------


def test_deployment_stats_before_and_after_the_first_inference(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str, echo_model: TestModel
) -> None:
    assignment = deployer.start(echo_id, model_id, queue_capacity=50)
    (entry,) = stats_entries(es, echo_id)[1]
    assert entry["pipeline_count"] == 0 and "ingest" in entry
    stats = entry["deployment_stats"]
    assert {key: stats[key] for key in (
        "deployment_id", "model_id", "threads_per_allocation", "number_of_allocations", "queue_capacity",
        "cache_size", "priority", "state",
    )} == {
        "deployment_id": model_id, "model_id": echo_id, "threads_per_allocation": 1, "number_of_allocations": 1,
        "queue_capacity": 50, "cache_size": f"{echo_model.size_bytes}b", "priority": "normal", "state": "started",
    }
    assert stats["allocation_status"] == {"allocation_count": 1, "target_allocation_count": 1, "state": "fully_allocated"}
    assert stats["start_time"] == round(parse_iso(assignment["start_time"]).timestamp() * 1000)
    assert stats["peak_throughput_per_minute"] == 0
    for absent in ("inference_count", "error_count", "rejected_execution_count", "timeout_count", "start_time_string"):
        assert absent not in stats
    (node,) = stats["nodes"]
    (node_id,) = node["node"]
    assert node_id in assignment["routing_table"]
    assert node["routing_state"] == {"routing_state": "started"}
    assert (node["inference_count"], node["number_of_pending_requests"], node["inference_cache_hit_count"]) == (0, 0, 0)
    assert (node["threads_per_allocation"], node["number_of_allocations"]) == (1, 1)
    assert (node["peak_throughput_per_minute"], node["throughput_last_minute"]) == (0, 0)
    for absent in ("average_inference_time_ms", "last_access", "average_inference_time_ms_last_minute"):
        assert absent not in node

    es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": "hello"}])
    (entry,) = stats_entries(es, echo_id, human=True)[1]
    stats = entry["deployment_stats"]
    assert stats["inference_count"] == 1
    assert stats["peak_throughput_per_minute"] == 1
    assert stats["start_time_string"] == assignment["start_time"]
    (node,) = stats["nodes"]
    assert (node["inference_count"], node["throughput_last_minute"]) == (1, 1)
    assert node["average_inference_time_ms"] > 0
    assert node["last_access"] >= stats["start_time"]
    assert "last_access_string" in node
    for absent in ("error_count", "rejected_execution_count", "timeout_count"):
        assert absent not in stats and absent not in node
    assert entry["inference_stats"]["inference_count"] == 1


# --- DELETE ----------------------------------------------------------------------------------------


def test_delete_of_a_deployed_model_needs_force(
    es: Elasticsearch, http: httpx.Client, deployer: Deployer, model_id: str, own_model: str, echo_model: TestModel
) -> None:
    upload_test_model(es, model_id, echo_model)
    with pytest.raises(ConflictError) as refused:
        es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": "the cat"}])
    assert error(refused) == (409, "status_exception", NOT_DEPLOYED.format(model_id))
    deployer.start(model_id, model_id)

    with pytest.raises(ConflictError) as refused:
        es.ml.delete_trained_model(model_id=model_id)
    assert error(refused) == (
        409, "status_exception", f"Cannot delete model [{model_id}] as it is currently deployed; use force to delete the model"
    )
    assert predicted(es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": "cat"}])) == [echo_rows("cat")]

    assert es.ml.delete_trained_model(model_id=model_id, force=True).body == {"acknowledged": True}
    with pytest.raises(NotFoundError):
        es.ml.get_trained_models(model_id=model_id)
    assert http.get(f"/_inferd/deployments/{model_id}/workers").status_code == 404
    with pytest.raises(NotFoundError):
        es.ml.stop_trained_model_deployment(model_id=model_id, allow_no_match=False)


# --- model aliases ---------------------------------------------------------------------------------


def configs_of(es: Elasticsearch, model_id: str) -> list[str]:
    return [config["model_id"] for config in es.ml.get_trained_models(model_id=model_id)["trained_model_configs"]]


def test_an_alias_moves_only_to_a_model_that_can_serve_it(
    es: Elasticsearch, deployer: Deployer, echo_id: str, model_id: str, own_model: str, echo_model: TestModel
) -> None:
    """As Elasticsearch: an alias on a deployed model moves to another model only once that one is deployed and
    has an allocation. Both models run under deployment ids that are not their model ids."""
    alias, text = f"{model_id}-alias", "the red car"
    upload_test_model(es, model_id, echo_model)
    deployer.start(echo_id, f"{model_id}-old")
    es.ml.put_trained_model_alias(model_id=echo_id, model_alias=alias)
    try:
        with pytest.raises(BadRequestError) as refused:
            es.ml.put_trained_model_alias(model_id=model_id, model_alias=alias, reassign=True)
        assert error(refused) == (
            400, "status_exception",
            f"cannot reassign model_alias [{alias}] to model [{model_id}] from model [{echo_id}] as it is not yet "
            "deployed",
        )
        assert configs_of(es, alias) == [echo_id]  # nothing changed: the alias still serves the old model
        assert predicted(es.ml.infer_trained_model(model_id=alias, docs=[{"text_field": text}])) == [echo_rows(text)]

        # Deployed but still starting (its worker loads the model in a new process): not yet allocated.
        assert deployer.start(model_id, f"{model_id}-new", wait_for="starting")["assignment_state"] == "starting"
        with pytest.raises(BadRequestError) as refused:
            es.ml.put_trained_model_alias(model_id=model_id, model_alias=alias, reassign=True)
        assert error(refused) == (
            400, "status_exception",
            f"cannot reassign model_alias [{alias}] to model [{model_id}]  from model [{echo_id}] as it is not yet "
            "allocated to any nodes",
        )
        assert configs_of(es, alias) == [echo_id]

        eventually(lambda: (deployment_stats(es, model_id, f"{model_id}-new") or {}).get("state") == "started",
                   what="the new model's deployment reaching started")
        assert es.ml.put_trained_model_alias(model_id=model_id, model_alias=alias, reassign=True).body == {
            "acknowledged": True
        }
        assert configs_of(es, alias) == [model_id]
        assert predicted(es.ml.infer_trained_model(model_id=alias, docs=[{"text_field": text}])) == [echo_rows(text)]
    finally:  # an alias left on the module's echo model would outlive the test
        es.options(ignore_status=(404, 409)).ml.delete_trained_model_alias(model_id=echo_id, model_alias=alias)


# --- inferd's workers view -------------------------------------------------------------------------


def test_workers_run_in_their_own_process(
    es: Elasticsearch, http: httpx.Client, server: ServerProcess, serving: str
) -> None:
    (worker,) = workers(http, serving)
    stats = deployment_stats(es, serving, serving)
    assert stats is not None
    assert [worker["node"]] == [node_id for node in stats["nodes"] for node_id in node["node"]]
    assert worker["load_count"] == 1 and worker["load_time_ms"] > 0
    assert (worker["allocations"], worker["threads_per_allocation"]) == (1, 1)
    assert server.process is not None
    assert isinstance(worker["pid"], int) and worker["pid"] != server.process.pid
    assert _alive(worker["pid"])
    response = http.get(f"/_inferd/deployments/{serving}-missing/workers")
    assert http_error(response) == (
        404, "resource_not_found_exception", f"No known model deployment with id [{serving}-missing]"
    )
