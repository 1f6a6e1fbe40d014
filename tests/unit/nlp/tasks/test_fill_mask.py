"""Cases ported from Elasticsearch's ``FillMaskProcessorTests`` (elastic/elasticsearch,
x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/FillMaskProcessorTests.java)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from inferd.nlp.tasks import PROCESSORS, InvalidModelOutput, InvalidTaskInput, validate_fill_mask_input

from .encodings import simple

VOCAB = ["The", "capital", "of", "is", "Paris", "France", "[MASK]"]
INPUT = "The capital of [MASK] is Paris"
MASK_ROW = [0.01, 0.01, 0.3, 0.01, 0.2, 1.2, 0.1]


def test_process_results() -> None:  # testProcessResults
    encoding = replace(
        simple(["The", "capital", "of", "[MASK]", "is", "Paris"], specials=False), token_ids=(0, 1, 2, 6, 4, 5)
    )
    scores = np.zeros((6, 7))
    scores[3] = MASK_ROW
    options = {"num_top_classes": 4, "results_field": "abcdefghij"}
    result = PROCESSORS["fill_mask"](options, INPUT, [encoding], [scores], vocabulary=VOCAB)
    assert result["abcdefghij"] == "France"
    assert result["predicted_sequence"] == "The capital of France is Paris"
    assert [c["class_name"] for c in result["top_classes"]] == ["France", "of", "Paris", "[MASK]"]
    expected = math.exp(1.2) / sum(math.exp(v) for v in MASK_ROW)
    assert result["prediction_probability"] == pytest.approx(expected, rel=1e-12)
    assert result["top_classes"][0]["class_score"] == result["top_classes"][0]["class_probability"]


def test_default_five_and_zero_top_classes() -> None:  # FillMaskConfig default of 5; 0 omits top_classes
    encoding = replace(simple(["[MASK]"], specials=False), token_ids=(6,))
    row = np.array([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    result = PROCESSORS["fill_mask"]({}, "[MASK]", [encoding], [row], vocabulary=VOCAB)
    assert len(result["top_classes"]) == 5 and result["predicted_value"] == "[MASK]"
    result = PROCESSORS["fill_mask"]({"num_top_classes": 0}, "[MASK]", [encoding], [row], vocabulary=VOCAB)
    assert "top_classes" not in result


def test_process_results_given_missing_tokens() -> None:  # testProcessResults_GivenMissingTokens
    with pytest.raises(InvalidModelOutput):
        PROCESSORS["fill_mask"]({}, "", [simple([], text="", specials=False)], [np.zeros((1, 0))], vocabulary=[])


def test_validate_given_missing_mask_token() -> None:  # testValidate_GivenMissingMaskToken
    with pytest.raises(InvalidTaskInput, match=r"no \[MASK\] token could be found"):
        validate_fill_mask_input({}, "The capital of France is Paris")


def test_validate_given_multiple_mask_tokens() -> None:  # testProcessResults_GivenMultipleMaskTokens
    with pytest.raises(InvalidTaskInput, match=r"only one \[MASK\] token should exist in the input"):
        validate_fill_mask_input({"mask_token": "[MASK]"}, "The capital of [MASK] is [MASK]")
    validate_fill_mask_input({"mask_token": "<mask>"}, "The capital of <mask> is Paris")
