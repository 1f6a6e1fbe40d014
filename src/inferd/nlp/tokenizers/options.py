"""Tokenization options and the encoding they produce, as plain frozen values.

Defaults are Elasticsearch's (``CommonTokenizationConfig``): special tokens on, 512 tokens,
truncate ``first``, no spanning (``span == -1``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NO_SPAN = -1
# Elasticsearch's CALC_DEFAULT_SPAN_VALUE: half the window, used by text_embedding chunking.
DEFAULT_SPAN = -2


class Truncate(enum.StrEnum):
    """Elasticsearch's ``truncate`` values (``balanced`` exists in ES but is not offered)."""

    FIRST = "first"
    SECOND = "second"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class TokenizerOptions:
    """The tokenization settings of a model, overridable per request (truncate and span)."""

    do_lower_case: bool = False
    with_special_tokens: bool = True
    max_sequence_length: int = 512
    truncate: Truncate = Truncate.FIRST
    span: int = NO_SPAN
    add_prefix_space: bool = False
    max_windows: int | None = None
    """The most windows spanning may cut one document into (None: unbounded)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "truncate", Truncate(self.truncate))
        if self.max_sequence_length < 1:
            raise ValueError("max_sequence_length must be positive")
        if self.span < DEFAULT_SPAN:
            raise ValueError("span must be -1 (no spanning), -2 (half the window) or a number of tokens")
        if self.span > self.max_sequence_length:  # equal is Elasticsearch's limit; windows then advance by one
            raise ValueError("span must not be greater than max_sequence_length")


@dataclass(frozen=True, slots=True)
class Encoding:
    """One model input: a whole document, or one window of it when spanning.

    ``offsets`` are ``(start, end)`` character positions into the original text of the
    sequence named by ``sequence_ids`` (0 = first text, 1 = second text, None = special
    token, whose offsets are ``(0, 0)``); where truncation or a window cut a word, the piece at the cut also
    spans the part cut off, so a word's first and last pieces always span the whole word (as Elasticsearch's pieces,
    each carrying its word's offsets). ``token_map`` is Elasticsearch's token-to-word map
    (-1 for special tokens). ``span_prev`` is how many tokens this window shares with the
    previous one (-1 for the first window), as Elasticsearch's ``spanPrev``. An encoding made without
    positions (for a task that reads only the model's output) has empty ``tokens`` and ``offsets``.
    """

    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]
    sequence_ids: tuple[int | None, ...]
    token_map: tuple[int, ...]
    span_index: int = 0
    span_prev: int = -1
    is_truncated: bool = False

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def special_tokens_mask(self) -> tuple[int, ...]:
        """1 where the token is a special token added around the sequences, else 0."""
        return tuple(1 if s is None else 0 for s in self.sequence_ids)
