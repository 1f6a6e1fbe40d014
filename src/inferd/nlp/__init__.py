"""Pure NLP code: tokenizers from uploaded vocabularies (and, later, task processing)."""

from inferd.nlp.errors import InputTooLarge, InvalidTokenizationInput, NlpError, TokenizerConfigError
from inferd.nlp.tokenizers import (
    DEFAULT_SPAN,
    NO_SPAN,
    TOKENIZER_KINDS,
    Encoding,
    NlpTokenizer,
    TokenizerOptions,
    Truncate,
    build_tokenizer,
)

__all__ = [
    "DEFAULT_SPAN",
    "NO_SPAN",
    "TOKENIZER_KINDS",
    "Encoding",
    "InputTooLarge",
    "InvalidTokenizationInput",
    "NlpError",
    "NlpTokenizer",
    "TokenizerConfigError",
    "TokenizerOptions",
    "Truncate",
    "build_tokenizer",
]
