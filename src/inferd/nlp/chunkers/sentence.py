"""Elasticsearch's `SentenceBoundaryChunker`: whole sentences, added greedily while a chunk stays within
`max_chunk_size` words; with `sentence_overlap: 1` each chunk also repeats the sentence before it (cut to at most
min(max_chunk_size / 2, 20) words); a sentence longer than a chunk is split on words, with an overlap of
min(20, (max_chunk_size - 1) / 2) words.
"""

from __future__ import annotations

import bisect

from inferd.nlp.chunkers.segments import sentence_ends, word_segments
from inferd.nlp.chunkers.word import word_chunk_positions


class _Words:
    """The text's word segments, for counting the words between two offsets as ICU's iterator does."""

    def __init__(self, text: str) -> None:
        segments = word_segments(text)
        self.ends = [segment.end for segment in segments]
        self.is_word = [segment.is_word for segment in segments]
        self.word_ends = [segment.end for segment in segments if segment.is_word]
        self.length = len(text)

    def count(self, start: int, end: int) -> int:
        """`countWords`: the words whose end lies from the boundary before `start` to `end`."""
        preceding = self._preceding(start)
        return bisect.bisect_right(self.word_ends, end) - bisect.bisect_left(self.word_ends, preceding)

    def skip(self, start: int, words: int) -> int:
        """`skipWords`: the boundary `words` words after the boundary before `start`."""
        preceding = self._preceding(start)
        if words == 0:
            return preceding
        index = bisect.bisect_left(self.ends, preceding)
        counted = 0
        while index < len(self.ends) and counted < words:
            if self.is_word[index]:
                counted += 1
            index += 1
        return self.ends[index] if index < len(self.ends) else self.length

    def _preceding(self, offset: int) -> int:
        index = bisect.bisect_left(self.ends, offset)
        return self.ends[index - 1] if index > 0 else 0


def _max_words_in_overlap(max_chunk_size: int) -> int:
    return min(max_chunk_size // 2, 20)


def _overlap_for_chunk_size(max_chunk_size: int) -> int:
    return min(20, (max_chunk_size - 1) // 2)


def sentence_chunks(text: str, max_chunk_size: int, include_preceding_sentence: bool) -> list[tuple[int, int]]:
    """`SentenceBoundaryChunker.chunk`: the chunks' `(start, end)` offsets in `text`."""
    chunks: list[tuple[int, int]] = []
    words = _Words(text)
    chunk_start = chunk_end = sentence_start = chunk_words = 0
    words_in_preceding = previous_sentence_start = 0
    for sentence_end in sentence_ends(text):
        words_in_sentence = words.count(sentence_start, sentence_end)
        if chunk_words + words_in_sentence > max_chunk_size:
            next_chunk_words = words_in_sentence
            if chunk_words > 0:
                chunks.append((chunk_start, chunk_end))
                if include_preceding_sentence:
                    if words_in_preceding + words_in_sentence > max_chunk_size:
                        skipped = max(words_in_preceding - _max_words_in_overlap(max_chunk_size), 0)
                        chunk_start = words.skip(previous_sentence_start, skipped)
                        chunk_words = words_in_preceding - skipped + words_in_sentence
                    else:
                        chunk_words = words_in_preceding + words_in_sentence
                        chunk_start = previous_sentence_start
                    next_chunk_words = chunk_words
                else:
                    chunk_start = chunk_end
                    chunk_words = words_in_sentence
            if next_chunk_words > max_chunk_size:
                splits = word_chunk_positions(text[chunk_start:sentence_end], max_chunk_size,
                                              _overlap_for_chunk_size(max_chunk_size))
                for split in splits[:-1]:
                    chunks.append((chunk_start + split.start, chunk_start + split.end))
                chunk_start += splits[-1].start
                chunk_words = splits[-1].word_count
        else:
            chunk_words += words_in_sentence
        if include_preceding_sentence:
            previous_sentence_start = sentence_start
            words_in_preceding = words_in_sentence
        sentence_start = chunk_end = sentence_end
    if chunk_words > 0:
        chunks.append((chunk_start, len(text)))
    if not chunks:
        chunks.append((0, len(text)))
    return chunks

