"""Documents to padded rows and back, with real tokenizers."""

from __future__ import annotations

import numpy as np
import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer, bucket_by_length, outputs_per_document, pad, rows_of

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "a", "mat", "dog", "ran"]


@pytest.fixture
def tokenizer():  # type: ignore[no-untyped-def]
    return build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=6, truncate="none", span=2))


def test_rows_padding_and_token_types() -> None:
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=16))
    documents = [tokenizer.encode("the cat"), tokenizer.encode_pair("the dog", "a mat")]
    rows = rows_of(documents)
    inputs = pad(rows, pad_token_id=0)
    assert inputs.input_ids.tolist() == [[2, 5, 6, 3, 0, 0, 0], [2, 5, 11, 3, 9, 10, 3]]
    assert inputs.attention_mask.tolist() == [[1, 1, 1, 1, 0, 0, 0], [1] * 7]
    assert inputs.token_type_ids.tolist() == [[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1]]
    assert inputs.position_ids.tolist() == [list(range(7))] * 2


def test_spanned_documents_come_back_in_span_order(tokenizer) -> None:  # type: ignore[no-untyped-def]
    long = tokenizer.encode("the cat sat on a mat the dog ran")
    assert len(long) > 1
    documents = [tokenizer.encode("the cat"), long]
    rows = rows_of(documents)
    batches = bucket_by_length(rows, max_rows=2)
    assert len(rows) == 1 + len(long) == 5
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert all(len(batch[0].encoding) >= len(batch[-1].encoding) for batch in batches)
    flat = [row for batch in batches for row in batch]
    output = np.array([[row.document * 100 + row.encoding.span_index] for row in flat])
    per_document = outputs_per_document(flat, output, documents=2)
    assert [values.tolist() for values in per_document[0]] == [[0]]
    assert [values.tolist() for values in per_document[1]] == [[100 + span] for span in range(len(long))]


def test_a_token_budget_makes_long_rows_run_in_smaller_batches() -> None:
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=32))
    long_text, short_text = "the cat sat on a mat the dog ran", "the cat"  # 11 and 4 tokens
    rows = rows_of([tokenizer.encode(text) for text in [short_text] * 6 + [long_text] * 3])
    batches = bucket_by_length(rows, max_rows=4, max_tokens=24)
    # 24 // 11 = 2 long rows; then 24 // 11 again (a long row leads); then 24 // 4 = 6, capped by max_rows
    assert [len(batch) for batch in batches] == [2, 2, 4, 1]
    assert all(len(batch) * len(batch[0].encoding) <= 24 for batch in batches)
    assert sorted(row.document for batch in batches for row in batch) == list(range(9))


def test_a_row_longer_than_the_budget_still_runs_alone() -> None:
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=32))
    rows = rows_of([tokenizer.encode("the cat sat on a mat the dog ran")] * 2)
    assert [len(batch) for batch in bucket_by_length(rows, max_rows=16, max_tokens=5)] == [1, 1]
    with pytest.raises(ValueError, match="at least 1"):
        bucket_by_length(rows, max_rows=16, max_tokens=0)


def test_mismatched_outputs_are_refused(tokenizer) -> None:  # type: ignore[no-untyped-def]
    rows = rows_of([tokenizer.encode("the cat")])
    with pytest.raises(ValueError, match="returned 2 rows for 1 inputs"):
        outputs_per_document(rows, np.zeros((2, 3)), documents=1)
