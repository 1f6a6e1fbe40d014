"""Elasticsearch's `WordBoundaryChunker`: chunks of `max_chunk_size` words, each starting `overlap` words before
the previous one ended.

A chunk ends right after its last word; the whitespace and punctuation that follow open the next chunk (so
`Comma, separated` in chunks of one word is `Comma` and `, separated`).
"""

from __future__ import annotations

from dataclasses import dataclass

from inferd.nlp.chunkers.segments import word_segments


@dataclass(frozen=True)
class ChunkPosition:
    start: int
    end: int
    word_count: int


def word_chunk_positions(text: str, max_chunk_size: int, overlap: int) -> list[ChunkPosition]:
    """`WordBoundaryChunker.chunkPositions`: the chunks' offsets in `text` and how many words each holds."""
    if overlap < 0:
        raise ValueError(f"Invalid chunking parameters, overlap [{overlap}] must be >= 0")
    if overlap > 0 and overlap > max_chunk_size // 2:
        raise ValueError(f"Invalid chunking parameters, overlap [{overlap}] must be < chunk size / 2 "
                         f"[{max_chunk_size} / 2 = {max_chunk_size // 2}]")
    if not text:
        return []
    positions: list[ChunkPosition] = []
    size_less_overlap = max_chunk_size - overlap
    words_in_chunk = 0
    next_window_start = 0
    window_start = 0
    words_since_mark = 0
    for segment in word_segments(text):
        if not segment.is_word:
            continue
        boundary = segment.end
        words_in_chunk += 1
        words_since_mark += 1
        if words_in_chunk >= max_chunk_size:
            positions.append(ChunkPosition(window_start, boundary, words_in_chunk))
            words_in_chunk = overlap
            if overlap == 0:
                next_window_start = boundary
            window_start = next_window_start
        if words_since_mark == size_less_overlap:
            next_window_start = boundary
            words_since_mark = 0
    if words_in_chunk > overlap or not positions:
        positions.append(ChunkPosition(window_start, len(text), words_in_chunk))
    return positions


def word_chunks(text: str, max_chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """The chunks' `(start, end)` offsets."""
    return [(p.start, p.end) for p in word_chunk_positions(text, max_chunk_size, overlap)]
