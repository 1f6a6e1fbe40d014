"""`GET /_inferd/metrics`: Prometheus' text format, and counters that move with traffic."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import ApiError, Elasticsearch
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import deployment_stats, eventually
from tests.support.models import TestModel, upload_test_model


def scrape(http: httpx.Client, deployment_id: str) -> dict[tuple[str, ...], float]:
    """Every sample of the deployment, keyed by (sample name, node, outcome or le)."""
    response = http.get("/_inferd/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.labels.get("deployment_id") == deployment_id:
                extra = sample.labels.get("outcome") or sample.labels.get("le") or ""
                samples[(sample.name, sample.labels.get("node", ""), extra)] = sample.value
    return samples


@pytest.fixture
def deployed(es: Elasticsearch, model_id: str, echo_model: TestModel) -> Iterator[str]:
    upload_test_model(es, model_id, echo_model)
    es.ml.start_trained_model_deployment(model_id=model_id, number_of_allocations=2)
    yield model_id
    es.ml.stop_trained_model_deployment(model_id=model_id)


def test_counters_move_with_traffic(es: Elasticsearch, http: httpx.Client, deployed: str) -> None:
    before = scrape(http, deployed)
    node = "node-0"
    assert before[("inferd_allocations", "", "")] == 2 and before[("inferd_target_allocations", "", "")] == 2
    assert before[("inferd_inference_documents_total", node, "")] == 0
    for texts in (["the cat"], ["a dog", "red car", "big house"]):
        es.ml.infer_trained_model(model_id=deployed, docs=[{"text_field": text} for text in texts])
    with pytest.raises(ApiError) as timed_out:
        es.ml.infer_trained_model(model_id=deployed, docs=[{"text_field": "hello world"}], timeout="0s")
    assert timed_out.value.meta.status == 408

    # The timed-out document may still be in the worker; read once it is back, so every count is final.
    eventually(lambda: deployment_stats(es, deployed)["nodes"][0]["number_of_pending_requests"] == 0)
    after = scrape(http, deployed)
    moved = {key: after[key] - before.get(key, 0) for key in after}
    assert moved[("inferd_inference_requests_total", node, "answered")] == 2
    assert moved[("inferd_inference_requests_total", node, "timeout")] == 1
    assert moved[("inferd_inference_documents_total", node, "")] >= 4  # the timed-out one may still have run
    for histogram in ("inferd_request_seconds", "inferd_request_queue_seconds", "inferd_request_inference_seconds"):
        assert moved[(f"{histogram}_count", node, "")] == 2
        assert moved[(f"{histogram}_bucket", node, "+Inf")] == 2
    for histogram in ("inferd_request_seconds", "inferd_request_inference_seconds"):  # an idle queue may take 0 s
        assert after[(f"{histogram}_sum", node, "")] > 0
    assert after[("inferd_queue_documents", node, "")] == 0
    stats = es.ml.get_trained_models_stats(model_id=deployed)["trained_model_stats"][0]["deployment_stats"]
    assert after[("inferd_inference_documents_total", node, "")] == stats["inference_count"]
    assert after[("inferd_inference_requests_total", node, "timeout")] == stats["timeout_count"]
