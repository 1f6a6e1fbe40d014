"""``text_classification`` and ``zero_shot_classification``.

Ported from Elasticsearch's ``TextClassificationProcessorTests`` (testInvalidResult,
testValidate); ``ZeroShotClassificationProcessorTests`` only checks request building, so the
zero-shot cases below follow ``ZeroShotClassificationProcessor.processResult`` with
probabilities computed by hand (both under elastic/elasticsearch,
x-pack/plugin/ml/src/{main,test}/java/org/elasticsearch/xpack/ml/inference/nlp/).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from inferd.nlp.tasks import PROCESSORS, InvalidModelOutput, InvalidTaskOptions, zero_shot_hypotheses

from .encodings import simple

ENC = [simple(["Elasticsearch", "fun"])]


def softmax(values: list[float]) -> list[float]:
    exps = [math.exp(v) for v in values]
    return [e / sum(exps) for e in exps]


def test_invalid_result() -> None:  # TextClassificationProcessorTests.testInvalidResult
    options = {"classification_labels": ["a", "b"]}
    with pytest.raises(InvalidModelOutput, match="Text classification result has no data"):
        PROCESSORS["text_classification"](options, "x", ENC, [])
    with pytest.raises(
        InvalidModelOutput, match=r"Expected exactly \[2\] values in text classification result; got \[1\]"
    ):
        PROCESSORS["text_classification"](options, "x", ENC, [np.array([[1.0]])])


def test_validate() -> None:  # TextClassificationProcessorTests.testValidate
    with pytest.raises(
        InvalidTaskOptions,
        match=r"Text classification requires at least 2 \[classification_labels\]. Invalid labels \[too few\]",
    ):
        PROCESSORS["text_classification"]({"classification_labels": ["too few"]}, "x", ENC, [np.array([1.0])])


def test_softmax_top_classes_and_results_field() -> None:
    options = {"classification_labels": ["neg", "neu", "pos"], "num_top_classes": 2, "results_field": "sentiment"}
    result = PROCESSORS["text_classification"](options, "x", ENC, [np.array([[0.5, -1.0, 2.0]])])
    probs = softmax([0.5, -1.0, 2.0])
    assert result["sentiment"] == "pos"
    assert result["prediction_probability"] == pytest.approx(probs[2], rel=1e-12)
    assert [(c["class_name"], c["class_probability"]) for c in result["top_classes"]] == [
        ("pos", pytest.approx(probs[2], rel=1e-12)),
        ("neg", pytest.approx(probs[0], rel=1e-12)),
    ]


def test_default_labels_and_no_top_classes() -> None:
    result = PROCESSORS["text_classification"]({}, "x", [simple(["x"], truncated=True)], [np.array([0.0, 3.0])])
    assert result == {"predicted_value": "LABEL_1", "prediction_probability": pytest.approx(softmax([0, 3])[1]),
                      "is_truncated": True}  # fmt: skip
    result = PROCESSORS["text_classification"]({"num_top_classes": -1}, "x", ENC, [np.array([0.0, 3.0, 1.0])])
    assert [c["class_name"] for c in result["top_classes"]] == ["LABEL_1", "LABEL_2", "LABEL_0"]


ZS = {"classification_labels": ["Entailment", "neutral", "contradiction"], "labels": ["sports", "politics", "tech"]}
NLI = [np.array([[2.0, 0.0, -1.0]]), np.array([[0.5, 0.0, 1.5]]), np.array([[1.0, 0.0, 0.0]])]


def test_zero_shot_single_label() -> None:
    result = PROCESSORS["zero_shot_classification"](ZS, "x", ENC * 3, NLI)
    probs = softmax([2.0, 0.5, 1.0])
    assert result["predicted_value"] == "sports"
    assert [(c["class_name"], c["class_probability"]) for c in result["top_classes"]] == [
        ("sports", pytest.approx(probs[0], rel=1e-12)),
        ("tech", pytest.approx(probs[2], rel=1e-12)),
        ("politics", pytest.approx(probs[1], rel=1e-12)),
    ]
    assert result["prediction_probability"] == pytest.approx(probs[0], rel=1e-12)


def test_zero_shot_multi_label() -> None:
    result = PROCESSORS["zero_shot_classification"]({**ZS, "multi_label": True}, "x", ENC * 3, NLI)
    scores = {"sports": softmax([2.0, -1.0])[0], "politics": softmax([0.5, 1.5])[0], "tech": softmax([1.0, 0.0])[0]}
    assert [c["class_name"] for c in result["top_classes"]] == ["sports", "tech", "politics"]
    for entry in result["top_classes"]:
        assert entry["class_probability"] == pytest.approx(scores[entry["class_name"]], rel=1e-12)


def test_zero_shot_errors_and_hypotheses() -> None:
    with pytest.raises(InvalidModelOutput, match=r"Expected exactly \[3\] values in zero shot classification result"):
        PROCESSORS["zero_shot_classification"](ZS, "x", ENC * 2, NLI[:2])
    with pytest.raises(InvalidTaskOptions):
        PROCESSORS["zero_shot_classification"]({**ZS, "labels": []}, "x", ENC, NLI[:1])
    with pytest.raises(InvalidTaskOptions):
        PROCESSORS["zero_shot_classification"]({**ZS, "classification_labels": ["a", "b", "c"]}, "x", ENC * 3, NLI)
    assert zero_shot_hypotheses(ZS) == ["This example is sports.", "This example is politics.", "This example is tech."]
