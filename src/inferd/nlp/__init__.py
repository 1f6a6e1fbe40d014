"""Pure NLP code: tokenizers built from uploaded vocabularies, and each task's pre- and post-processing."""

from inferd.nlp.batching import ModelInputs, Row, bucket_by_length, outputs_per_document, pad, rows_of
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
    "ModelInputs",
    "Row",
    "bucket_by_length",
    "outputs_per_document",
    "pad",
    "rows_of",
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
