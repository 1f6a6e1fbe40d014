"""inferd's results on tiny random models against the transformers pipelines on the same models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.models import make_test_model
from tests.support.pipeline import infer

pytestmark = pytest.mark.slow
TEXTS = ["the quick brown fox jumps", "a dog runs in the park", "she reads books every evening"]


@pytest.fixture(scope="module")
def transformers_offline():  # type: ignore[no-untyped-def]
    os.environ["HF_HUB_OFFLINE"] = "1"
    import transformers

    return transformers


def test_text_classification(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("text_classification", models_dir)
    ours = infer(model, TEXTS, {"text_classification": {"num_top_classes": 2}})
    reference = transformers_offline.pipeline("text-classification", model=str(model.hf_dir), top_k=None)(TEXTS)
    for mine, theirs in zip(ours, reference, strict=True):
        best = max(theirs, key=lambda entry: entry["score"])
        assert mine["predicted_value"] == best["label"]
        assert mine["prediction_probability"] == pytest.approx(best["score"], abs=1e-5)
        expected = {entry["label"]: entry["score"] for entry in theirs}
        for top in mine["top_classes"]:
            assert top["class_probability"] == pytest.approx(expected[top["class_name"]], abs=1e-5)


def test_text_embedding(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    model = make_test_model("text_embedding", models_dir)
    ours = infer(model, TEXTS)
    extractor = transformers_offline.pipeline("feature-extraction", model=str(model.hf_dir))
    for mine, text in zip(ours, TEXTS, strict=True):
        hidden = np.array(extractor(text)[0])
        pooled = hidden.mean(axis=0)
        expected = pooled / np.linalg.norm(pooled)
        vector = np.array(mine["predicted_value"])
        assert vector.shape == expected.shape
        assert np.allclose(vector / np.linalg.norm(vector), expected, atol=1e-5)


def test_fill_mask(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("fill_mask", models_dir)
    texts = ["the quick [MASK] fox", "a [MASK] runs in the park"]
    ours = infer(model, texts, {"fill_mask": {"num_top_classes": 3}})
    fill = transformers_offline.pipeline("fill-mask", model=str(model.hf_dir), top_k=3)
    for mine, text in zip(ours, texts, strict=True):
        theirs = fill(text)
        assert mine["predicted_value"] == theirs[0]["token_str"]
        assert mine["prediction_probability"] == pytest.approx(theirs[0]["score"], abs=1e-5)
        assert [top["class_name"] for top in mine["top_classes"]] == [entry["token_str"] for entry in theirs]


def test_zero_shot(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("zero_shot_classification", models_dir)
    labels = ["sports", "books", "animals"]
    ours = infer(model, TEXTS, {"zero_shot_classification": {"labels": labels, "multi_label": False}})
    classifier = transformers_offline.pipeline("zero-shot-classification", model=str(model.hf_dir))
    for mine, text in zip(ours, TEXTS, strict=True):
        theirs = classifier(text, candidate_labels=labels, hypothesis_template="This example is {}.")
        assert mine["predicted_value"] == theirs["labels"][0]
        assert mine["prediction_probability"] == pytest.approx(theirs["scores"][0], abs=1e-5)


def test_a_mismatched_task_is_refused(models_dir: Path) -> None:
    from inferd.nlp.tasks import TaskMismatch

    model = make_test_model("text_classification", models_dir)
    with pytest.raises(TaskMismatch, match=r"configured for task \[text_classification\] but called with task \[ner\]"):
        infer(model, TEXTS, {"ner": {}})
