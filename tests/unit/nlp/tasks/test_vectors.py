"""``text_similarity``, ``text_expansion``, ``text_embedding`` and ``pass_through``.

Ported from Elasticsearch's ``TextSimilarityProcessorTests``, ``TextExpansionProcessorTests``
and ``TextEmbeddingProcessorTests`` (elastic/elasticsearch,
x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/), and the
``pass_through`` answer of ``PyTorchModelIT``'s SuperSimple model.
"""

from __future__ import annotations

import numpy as np
import pytest

from inferd.nlp.tasks import PROCESSORS, InvalidModelOutput
from inferd.nlp.tasks.text_expansion import sanitized_vocabulary

from .encodings import simple

ENC = simple(["Elasticsearch", "darts", "champion"])


def test_text_similarity_processor() -> None:  # TextSimilarityProcessorTests.testProcessor
    result = PROCESSORS["text_similarity"]({"text": "q", "results_field": "result"}, "d", [ENC], [np.array([[42.0]])])
    assert result == {"result": pytest.approx(42.0, abs=1e-6)}


def test_text_similarity_result_functions() -> None:  # TextSimilarityProcessorTests.testResultFunctions
    outputs = [np.array([42.0]), np.array([12.0]), np.array([100.0])]
    result = PROCESSORS["text_similarity"]({"span_score_combination_function": "max"}, "d", [ENC] * 3, outputs)
    assert result["predicted_value"] == 100.0
    result = PROCESSORS["text_similarity"]({"span_score_combination_function": "mean"}, "d", [ENC] * 3, outputs)
    assert result["predicted_value"] == pytest.approx(51.333333333333, abs=1e-12)
    assert PROCESSORS["text_similarity"]({}, "d", [ENC] * 3, outputs)["predicted_value"] == 100.0


def test_text_expansion_process_result() -> None:  # TextExpansionProcessorTests.testProcessResult
    vocab = ["a", "b", "c", "d", "e", "f", "g"]
    result = PROCESSORS["text_expansion"](
        {"results_field": "foo"}, "x", [ENC], [np.array([[0.0, 1.0, 0.0, 3.0, 4.0, 0.0, 0.0]])], vocabulary=vocab
    )
    assert list(result["foo"].items()) == [("e", 4.0), ("d", 3.0), ("b", 1.0)]


def test_build_sanitized_vocab_map() -> None:  # TextExpansionProcessorTests.testBuildSanitizedVocabMap
    assert sanitized_vocabulary(["aa", "bb", "cc", ".d.", ".", "JJ"]) == {3: "__d__", 4: "__"}


def test_sanitize_output_tokens() -> None:  # TextExpansionProcessorTests.testSanitizeOutputTokens
    vocab = ["aa", "bb", "cc", ".", "##.", "[UNK]", "[PAD]"]
    result = PROCESSORS["text_expansion"]({}, "x", [ENC], [np.array([1.0, 2.0, 3.0, 4.0, 5.0])], vocabulary=vocab)
    assert list(result["predicted_value"].items()) == [
        ("##__", 5.0),
        ("__", 4.0),
        ("cc", 3.0),
        ("bb", 2.0),
        ("aa", 1.0),
    ]


def test_text_expansion_weights_are_java_floats() -> None:  # WeightedToken holds a float
    result = PROCESSORS["text_expansion"]({}, "x", [ENC], [np.array([0.1, -0.5])], vocabulary=["a", "b"])
    assert result["predicted_value"] == {"a": 0.1}


def test_text_embedding_single_result() -> None:  # TextEmbeddingProcessorTests.testSingleResult
    row = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    result = PROCESSORS["text_embedding"]({"results_field": "foo"}, "x", [ENC], [np.array([row])])
    assert result == {"foo": row}
    assert PROCESSORS["text_embedding"]({"embedding_size": 9}, "x", [ENC], [np.array(row)]) == {"predicted_value": row}
    with pytest.raises(InvalidModelOutput, match="embedding_size"):
        PROCESSORS["text_embedding"]({"embedding_size": 384}, "x", [ENC], [np.array(row)])


def test_pass_through_super_simple_model() -> None:  # PyTorchModelIT: {"predicted_value":[[1.0,1.0]]}
    truncated = simple(["my", "words"], truncated=True)
    result = PROCESSORS["pass_through"]({}, "my words", [truncated], [np.array([[1.0, 1.0]], dtype=np.float32)])
    assert result == {"predicted_value": [[1.0, 1.0]], "is_truncated": True}
