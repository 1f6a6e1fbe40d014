"""Chunking long texts as Elasticsearch's inference endpoints do (`chunking_settings`): on sentences or on words.

    chunk_text(text, SentenceChunking(max_chunk_size=250, sentence_overlap=1)) -> [(start, end), ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from inferd.nlp.chunkers.sentence import sentence_chunks
from inferd.nlp.chunkers.word import word_chunks


class ChunkingStrategy(StrEnum):
    SENTENCE = "sentence"
    WORD = "word"


@dataclass(frozen=True)
class SentenceChunking:
    max_chunk_size: int = 250
    sentence_overlap: int = 1

    strategy = ChunkingStrategy.SENTENCE

    def as_dict(self) -> dict[str, object]:
        return {"strategy": str(self.strategy), "max_chunk_size": self.max_chunk_size,
                "sentence_overlap": self.sentence_overlap}


@dataclass(frozen=True)
class WordChunking:
    max_chunk_size: int
    overlap: int

    strategy = ChunkingStrategy.WORD

    def as_dict(self) -> dict[str, object]:
        return {"strategy": str(self.strategy), "max_chunk_size": self.max_chunk_size, "overlap": self.overlap}


ChunkingSettings = SentenceChunking | WordChunking
DEFAULT_CHUNKING = SentenceChunking(250, 1)
"""Elasticsearch's default (`ChunkingSettingsBuilder.DEFAULT_SETTINGS`)."""


def chunk_text(text: str, settings: ChunkingSettings) -> list[tuple[int, int]]:
    """The chunks' `(start, end)` offsets in `text`: one chunk (the whole text) when it is short."""
    if isinstance(settings, WordChunking):
        return word_chunks(text, settings.max_chunk_size, settings.overlap) or [(0, len(text))]
    return sentence_chunks(text, settings.max_chunk_size, settings.sentence_overlap > 0)


__all__ = ["DEFAULT_CHUNKING", "ChunkingSettings", "ChunkingStrategy", "SentenceChunking", "WordChunking",
           "chunk_text"]
