"""What integration tests read from the server's answers: error triples, echo-model results, worker reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, Elasticsearch

from tests.support.models import VOCABULARY

CLS, SEP = VOCABULARY.index("[CLS]"), VOCABULARY.index("[SEP]")


def error(excinfo: pytest.ExceptionInfo[ApiError]) -> tuple[int, str, str]:
    """(status, error type, reason) of an error the elasticsearch client raised."""
    body = excinfo.value.body
    return excinfo.value.meta.status, body["error"]["type"], body["error"]["reason"]


def http_error(response: httpx.Response) -> tuple[int, str, str]:
    """(status, error type, reason) of a raw error response, after checking Elasticsearch's error shape."""
    body = response.json()
    assert body["status"] == response.status_code
    assert body["error"]["root_cause"][0]["type"] == body["error"]["type"]
    return response.status_code, body["error"]["type"], body["error"]["reason"]


def expected_ids(text: str) -> list[int]:
    """The token ids the test vocabulary gives a lower-case, space-separated text, with [CLS] and [SEP]."""
    return [CLS, *(VOCABULARY.index(word) for word in text.lower().split()), SEP]


def echo_rows(text: str) -> list[list[float]]:
    """What the echo model returns for one document: [token id, attention 1, token type 0, position] per token."""
    return [[float(token), 1.0, 0.0, float(position)] for position, token in enumerate(expected_ids(text))]


def echoed_ids(result: dict[str, Any]) -> list[int]:
    """The token ids an echo-model result carries."""
    return [int(row[0]) for row in result["predicted_value"]]


def deployment_stats(
    es: Elasticsearch, model_id: str, deployment_id: str | None = None, **params: Any
) -> dict[str, Any] | None:
    """The deployment_stats of one deployment of `model_id` (by default the one named like the model), or None."""
    wanted = deployment_id or model_id
    entries = es.ml.get_trained_models_stats(model_id=model_id, **params)["trained_model_stats"]
    found = [e["deployment_stats"] for e in entries if e.get("deployment_stats", {}).get("deployment_id") == wanted]
    assert len(found) <= 1
    return found[0] if found else None


def workers(http: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    """What each worker process of a deployment reports: node, pid, load count, allocations."""
    response = http.get(f"/_inferd/deployments/{deployment_id}/workers")
    assert response.status_code == 200, response.text
    return response.json()["workers"]


def scaling_events(http: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    """The adaptive allocations scaler's events for a deployment, newest first."""
    response = http.get(f"/_inferd/deployments/{deployment_id}/events")
    assert response.status_code == 200, response.text
    return response.json()["events"]


def eventually(check: Callable[[], bool], timeout_s: float = 10, what: str = "condition", period_s: float = 0.05,
               ) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never held within {timeout_s}s")
        time.sleep(period_s)
