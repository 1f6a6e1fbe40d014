"""Elasticsearch's "did you mean" hints: candidates whose Levenshtein similarity is above 0.5."""

from __future__ import annotations

from collections.abc import Iterable


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """Lucene's LevenshteinDistance: 1 - edits / length of the longer string."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - _edit_distance(a, b) / longest


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`" -> did you mean [x]?"`-style suffix (without the arrow), or "" when nothing is close."""
    scored = sorted(((similarity(name, c), c) for c in set(candidates)), key=lambda t: (-t[0], t[1]))
    close = [candidate for score, candidate in scored if score > 0.5]
    if not close:
        return ""
    listed = "[" + ", ".join(close) + "]"
    return f"did you mean any of {listed}?" if len(close) > 1 else f"did you mean {listed}?"
