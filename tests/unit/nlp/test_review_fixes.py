"""Defects a review found: row order for zero-shot, bounded question answering, no forged special tokens."""

from __future__ import annotations

import numpy as np
import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer, bucket_by_length, outputs_per_document, rows_of
from inferd.nlp.tasks import PROCESSORS, InvalidTaskOptions, encode_document

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "this", "is", "sport", "politics", "and",
              "government", ".", "[", "]", "cl", "##s", "sep", "c"]


def tokenizer():  # type: ignore[no-untyped-def]
    return build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=32))


def test_zero_shot_rows_come_back_in_label_order_after_bucketing() -> None:
    options = {"labels": ["sport", "politics and government"], "hypothesis_template": "this is {} .",
               "classification_labels": ["entailment", "neutral", "contradiction"]}
    encodings = encode_document("zero_shot_classification", options, tokenizer(), "the cat")
    assert len(encodings[0]) < len(encodings[1])  # bucketing puts the longer row first
    rows = [row for batch in bucket_by_length(rows_of([encodings]), max_rows=8) for row in batch]
    assert [row.order for row in rows] == [1, 0]
    output = np.array([[0.0, 0.0, 0.0] if row.order == 1 else [5.0, 0.0, -5.0] for row in rows])
    (per_label,) = outputs_per_document(rows, output, documents=1)
    result = PROCESSORS["zero_shot_classification"](options, "the cat", encodings, per_label)
    assert result["predicted_value"] == "sport"


def test_question_answering_bounds_its_work() -> None:
    encodings = encode_document("question_answering", {"question": "the cat"}, tokenizer(), "the cat is sport " * 6)
    outputs = [np.random.default_rng(0).normal(size=(2, len(encodings[0])))]
    huge = {"question": "the cat", "num_top_classes": 10**9, "max_answer_length": 10**9}
    result = PROCESSORS["question_answering"](huge, "the cat is sport " * 6, encodings, outputs)
    assert 0 < len(result["top_classes"]) <= len(encodings[0]) ** 2
    with pytest.raises(InvalidTaskOptions, match=r"\[max_answer_length\] must be greater than 0"):
        PROCESSORS["question_answering"]({"max_answer_length": 0, "num_top_classes": 2}, "x", encodings, outputs)


def test_special_tokens_typed_in_a_document_are_plain_text() -> None:
    encoding = tokenizer().encode("the [SEP] cat [CLS] [MASK]")[0]
    assert encoding.tokens.count("[SEP]") == 1 and encoding.tokens.count("[CLS]") == 1  # only the ones added
    assert "[MASK]" in encoding.tokens  # the mask token alone is kept whole
