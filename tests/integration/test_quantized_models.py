"""A quantized model (eland's `--quantize`: dynamically quantized int8 linear layers) passes the server's definition
check, loads in a real worker and serves embeddings close to, but not the same as, those of its float32 original;
the server sizes it by its own, smaller definition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from inferd.control.memory import estimate_memory_bytes
from tests.support.models import TestModel, make_test_model, upload_test_model

SENTENCES = [f"{subject} {verb} the {thing} in {place}" for subject, verb, thing, place in zip(
    ["the cat", "a dog", "mary", "john", "the bird", "alice", "bob", "the company"],
    ["sees", "finds", "reads", "likes", "wants", "plays", "makes", "loves"],
    ["book", "car", "tree", "house", "music", "fish", "road", "river"],
    ["paris", "london", "berlin", "new york", "manhattan", "the city", "the world", "the house"], strict=True)]


@pytest.fixture(scope="module")
def float_and_int8(models_dir: Path) -> tuple[TestModel, TestModel]:
    """The tiny text_embedding BERT traced as it is and with int8 linear layers: the same weights."""
    return make_test_model("text_embedding", models_dir), make_test_model("text_embedding", models_dir, quantize=True)


def deploy(es: Elasticsearch, model_id: str, model: TestModel) -> dict[str, Any]:
    upload_test_model(es, model_id, model)
    started = es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    return dict(started["assignment"]["task_parameters"])


def embeddings(es: Elasticsearch, model_id: str) -> np.ndarray:
    results = es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": text} for text in SENTENCES])
    return np.array([result["predicted_value"] for result in results["inference_results"]])


def test_an_int8_model_serves_embeddings_close_to_its_float32_original(
    es: Elasticsearch, model_id: str, float_and_int8: tuple[TestModel, TestModel]
) -> None:
    float32, int8 = float_and_int8
    ids = {"float32": f"{model_id}-f32", "int8": f"{model_id}-int8"}
    try:
        parameters = {"float32": deploy(es, ids["float32"], float32), "int8": deploy(es, ids["int8"], int8)}
        served = {name: embeddings(es, deployed) for name, deployed in ids.items()}
        cosine = np.sum(served["float32"] * served["int8"], axis=1) / (
            np.linalg.norm(served["float32"], axis=1) * np.linalg.norm(served["int8"], axis=1))
        assert served["int8"].shape == served["float32"].shape == (len(SENTENCES), 32)
        assert cosine.min() > 0.99, cosine
        assert np.abs(served["int8"] - served["float32"]).max() > 1e-4  # int8 arithmetic, not the float32 graph
        assert np.linalg.norm(served["int8"], axis=1) == pytest.approx(1, abs=1e-3)  # still L2-normalised

        # Sized by its own definition: the file's bytes, and the memory figures its import measured.
        assert int8.size_bytes < 0.8 * float32.size_bytes
        for name, model in (("float32", float32), ("int8", int8)):
            metadata = model.config["metadata"]
            assert parameters[name]["model_bytes"] == model.size_bytes
            assert parameters[name]["per_deployment_memory_bytes"] == metadata["per_deployment_memory_bytes"]
            [stats] = es.ml.get_trained_models_stats(model_id=ids[name])["trained_model_stats"]
            assert stats["model_size_stats"] == {
                "model_size_bytes": model.size_bytes,
                "required_native_memory_bytes": estimate_memory_bytes(model.size_bytes,
                                                                      metadata["per_deployment_memory_bytes"],
                                                                      metadata["per_allocation_memory_bytes"])}
        weights = {name: model.config["metadata"]["per_deployment_memory_bytes"] for name, model in
                   (("float32", float32), ("int8", int8))}
        assert 0.5 * weights["float32"] < weights["int8"] < weights["float32"]
    finally:
        for deployed in ids.values():
            es.options(ignore_status=404).ml.stop_trained_model_deployment(model_id=deployed, force=True)
