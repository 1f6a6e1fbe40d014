"""Thousands of distinct sentences of equal length, so no cache flatters a benchmark.

Each sentence is `words` whole-word vocabulary entries drawn with a seeded generator; with the
all-MiniLM-L6-v2 vocabulary, 10 words make 12 tokens with [CLS] and [SEP].
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def plain_words(vocabulary: Sequence[str], min_length: int = 3) -> list[str]:
    """Lower-case alphabetic whole words: each is one WordPiece token."""
    return [token for token in vocabulary if token.isalpha() and token.islower() and len(token) >= min_length]


def distinct_sentences(vocabulary: Sequence[str], count: int, words: int = 10, seed: int = 0) -> list[str]:
    pool = plain_words(vocabulary)
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(" ".join(rng.sample(pool, words)))
    return sorted(seen)
