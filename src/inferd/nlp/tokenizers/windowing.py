"""Elasticsearch's rules for truncating and windowing a tokenized input.

A straight port of ``NlpTokenizer.tokenize`` (elastic/elasticsearch, x-pack ml
``inference/nlp/tokenizers/NlpTokenizer.java``): a window never ends inside a word when it can
avoid it, and the next window starts ``span`` tokens before the previous end, backed up to the
start of a word. Functions here work on positions only, so they are tested without a vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inferd.nlp.errors import InvalidTokenizationInput


@dataclass(frozen=True, slots=True)
class Window:
    """Tokens ``[start, end)`` of the inner tokenization; ``span_prev`` overlapping the previous."""

    start: int
    end: int
    span_prev: int


def split_windows(
    word_map: Sequence[int], window: int, span: int, *, refuse_stall: bool = False, max_windows: int | None = None
) -> list[Window]:
    """Cut ``len(word_map)`` tokens into windows of at most ``window`` tokens overlapping by ``span``.

    When a long word forces a window so short that the next one would not start later, Elasticsearch
    refuses pairs (``refuse_stall``) and, for single sequences, would loop forever; here a single
    sequence's next window then starts one token later, so every input ends.
    """
    if window <= 0:
        raise InvalidTokenizationInput("the maximum sequence length leaves no room for tokens")
    size = len(word_map)
    windows: list[Window] = []
    start = end = 0
    span_prev = -1
    while end < size:
        if max_windows is not None and len(windows) == max_windows:
            raise InvalidTokenizationInput(
                f"Input too large. Spanning [{size}] tokens with [span] [{span}] takes more than the [{max_windows}] "
                "windows a document may have (max_document_windows)"
            )
        end = min(start + window, size)
        if end != size:  # do not end inside a word
            while end > start + 1 and word_map[end] == word_map[end - 1]:
                end -= 1
        windows.append(Window(start, end, span_prev))
        span_prev = span
        previous_start = start
        start = end - span
        if end < size and start <= previous_start:
            if refuse_stall:
                raise InvalidTokenizationInput(
                    "Tokenization cannot be satisfied with the current span setting. Consider decreasing the span setting"
                )
            start, span_prev = previous_start + 1, end - previous_start - 1
        if start < size:  # back up to the first token of a whole word
            while start > previous_start + 1 and word_map[start] == word_map[start - 1]:
                start -= 1
                span_prev += 1
    return windows
