"""One result per window, each with the text it covers."""

from __future__ import annotations

import numpy as np
import pytest

from inferd.nlp import DEFAULT_SPAN, TokenizerOptions, build_tokenizer
from inferd.nlp.tasks import InvalidTaskOptions, chunked_result

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "one", "two", "three", "four", "five", "six", "seven"]


def test_every_window_becomes_a_chunk() -> None:
    text = "one two three four five six seven"
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=5, truncate="none",
                                                                            span=DEFAULT_SPAN))
    encodings = tokenizer.encode(text)
    assert len(encodings) > 2
    outputs = [np.array([float(len(encoding)), float(index)]) for index, encoding in enumerate(encodings)]
    result = chunked_result("text_embedding", {"results_field": "vector"}, text, encodings, outputs)
    chunks = result["vector"]
    assert [chunk["inference"][1] for chunk in chunks] == list(range(len(encodings)))
    assert chunks[0]["text"].startswith("one two") and chunks[-1]["text"].endswith("six seven")
    covered = " ".join(chunk["text"] for chunk in chunks)
    assert all(word in covered for word in text.split())


def test_expansion_chunks_and_refusals() -> None:
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=16))
    encodings = tokenizer.encode("one two")
    weights = np.zeros(len(VOCABULARY))
    weights[5] = 0.5
    result = chunked_result("text_expansion", {}, "one two", encodings, [weights], vocabulary=VOCABULARY)
    assert result == {"predicted_value": [{"text": "one two", "inference": {"one": 0.5}}]}
    with pytest.raises(InvalidTaskOptions):
        chunked_result("ner", {}, "one two", encodings, [weights])
