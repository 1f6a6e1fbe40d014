"""Chunked results: one result per window of a long document, for embeddings and sparse expansions.

`_infer` reads the first window, as Elasticsearch's processors do; chunking keeps every window, each
with the text it covers, in the shape of Elasticsearch's chunked ML results
(`{results_field: [{"text": ..., "inference": ...}, ...]}`), so long documents can be indexed whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import results_field
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tasks.registry import PROCESSORS
from inferd.nlp.tokenizers.options import Encoding

CHUNKABLE = frozenset({"text_embedding", "text_expansion"})


def window_text(text: str, encoding: Encoding) -> str:
    """The part of `text` the window's own tokens cover (special tokens have no text)."""
    spans = [offset for offset, sequence in zip(encoding.offsets, encoding.sequence_ids, strict=True) if sequence == 0]
    if not spans:
        return ""
    return text[spans[0][0] : spans[-1][1]]


def chunked_result(
    task_type: str,
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    if task_type not in CHUNKABLE:
        raise InvalidTaskOptions(f"chunked results are only available for [{', '.join(sorted(CHUNKABLE))}]")
    if len(outputs) != len(encodings):
        raise InvalidModelOutput(f"[{len(outputs)}] results for [{len(encodings)}] windows")
    field = results_field(task_options)
    process = PROCESSORS[task_type]
    chunks = [
        {"text": window_text(text, encoding), "inference": process(task_options, text, [encoding], [output],
                                                                     vocabulary=vocabulary)[field]}
        for encoding, output in zip(encodings, outputs, strict=True)
    ]
    return {field: chunks}
