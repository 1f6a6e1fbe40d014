"""Errors raised by the pure NLP code, carrying Elasticsearch's message text.

The tree (callers such as the runtime wrap these into inferd's own error types)::

    NlpError
    +-- InputTooLarge             bad request: tokenized input exceeds max_sequence_length
    +-- InvalidTokenizationInput  bad request / illegal argument: pair or span settings
    |                             that cannot be satisfied
    +-- TokenizerConfigError      the uploaded vocabulary, merges or scores cannot build
                                  the requested tokenizer
"""

from __future__ import annotations


class NlpError(Exception):
    """Base of every error raised by ``inferd.nlp``; ``str(error)`` is Elasticsearch's text."""


class InputTooLarge(NlpError):
    """Raised with ``truncate: none`` when the input does not fit, as Elasticsearch does."""

    def __init__(self, length: int, max_length: int) -> None:
        super().__init__(
            f"Input too large. The tokenized input length [{length}] exceeds the maximum sequence length [{max_length}]"
        )
        self.length = length
        self.max_length = max_length


class InvalidTokenizationInput(NlpError):
    """A request whose truncation or span settings cannot be honoured for this input."""


class TokenizerConfigError(NlpError):
    """The vocabulary (and merges or scores) cannot build the requested tokenizer."""
