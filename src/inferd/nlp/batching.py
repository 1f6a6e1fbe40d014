"""From encodings to padded model inputs and back: the seam the runtime's batcher calls.

A request's documents become rows (one per encoding, several for a spanned document); rows are
grouped by length so a batch of mixed lengths wastes little padding, padded into the four arrays
eland's TorchScript models take, and the model's output rows are handed back per document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inferd.nlp.tokenizers import Encoding


@dataclass(frozen=True)
class Row:
    """One model input row: which document it belongs to, and its encoding."""

    document: int
    encoding: Encoding
    order: int = 0
    """Position among the document's rows (its spans, or zero-shot's one row per label)."""


@dataclass(frozen=True)
class ModelInputs:
    """int64 arrays of shape [rows, longest row]: input_ids, attention_mask, token_type_ids, position_ids."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    position_ids: np.ndarray

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.input_ids, self.attention_mask, self.token_type_ids, self.position_ids


def rows_of(documents: Sequence[Sequence[Encoding]]) -> list[Row]:
    """Flatten each document's encodings (its spans) into rows, in order."""
    return [
        Row(index, encoding, order)
        for index, encodings in enumerate(documents)
        for order, encoding in enumerate(encodings)
    ]


def bucket_by_length(rows: Sequence[Row], max_rows: int, max_tokens: int | None = None) -> list[list[Row]]:
    """Groups of similar length (longest first), so padding stays small, each of at most `max_rows` rows and,
    when `max_tokens` is given, at most `max_tokens` padded tokens (but always at least one row).

    The token budget bounds the activations of one forward pass: long sequences gain little from large
    batches, while each concurrent allocation pays memory in proportion to its batch's tokens.
    """
    if max_rows < 1 or (max_tokens is not None and max_tokens < 1):
        raise ValueError("max_rows and max_tokens must be at least 1")
    ordered = sorted(rows, key=lambda row: len(row.encoding), reverse=True)
    groups: list[list[Row]] = []
    start = 0
    while start < len(ordered):
        size = max_rows
        if max_tokens is not None:  # the group's first row is its longest: every row is padded to it
            size = max(1, min(max_rows, max_tokens // len(ordered[start].encoding)))
        groups.append(ordered[start : start + size])
        start += size
    return groups


def pad(rows: Sequence[Row], pad_token_id: int) -> ModelInputs:
    """Right-pad every row to the longest; the second text of a pair (and the separator ending it) is type 1."""
    if not rows:
        raise ValueError("a batch needs at least one row")
    width = max(len(row.encoding) for row in rows)
    input_ids = np.full((len(rows), width), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    token_type_ids = np.zeros((len(rows), width), dtype=np.int64)
    for index, row in enumerate(rows):
        length = len(row.encoding)
        input_ids[index, :length] = row.encoding.token_ids
        attention_mask[index, :length] = 1
        if 1 in row.encoding.sequence_ids:  # a pair: single texts are all type 0 already
            token_type_ids[index, :length] = _token_types(row.encoding.sequence_ids)
    position_ids = np.repeat(np.arange(width, dtype=np.int64)[np.newaxis, :], len(rows), axis=0)
    return ModelInputs(input_ids, attention_mask, token_type_ids, position_ids)


def _token_types(sequence_ids: Sequence[int | None]) -> list[int]:
    """BERT's segment ids: 0 up to the end of the first text and its separator, 1 from the second text on."""
    types, current = [], 0
    for sequence in sequence_ids:
        if sequence == 1:
            current = 1
        types.append(current)
    return types


def outputs_per_document(
    rows: Sequence[Row], output: np.ndarray | Sequence[np.ndarray], documents: int
) -> list[list[np.ndarray]]:
    """Split output rows (a batch's first axis, or a list, in `rows` order) back into each document's, in order."""
    if len(output) != len(rows):
        raise ValueError(f"the model returned {len(output)} rows for {len(rows)} inputs")
    per_document: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(documents)]
    for row, values in zip(rows, output, strict=True):
        per_document[row.document].append((row.order, values))
    return [[values for _, values in sorted(spans, key=lambda item: item[0])] for spans in per_document]
