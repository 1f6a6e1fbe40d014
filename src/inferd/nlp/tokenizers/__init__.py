"""Tokenizers built from an uploaded vocabulary, framed and windowed as Elasticsearch does."""

from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.factory import TOKENIZER_KINDS, build_tokenizer
from inferd.nlp.tokenizers.options import DEFAULT_SPAN, NO_SPAN, Encoding, TokenizerOptions, Truncate

__all__ = [
    "DEFAULT_SPAN",
    "NO_SPAN",
    "TOKENIZER_KINDS",
    "Encoding",
    "NlpTokenizer",
    "TokenizerOptions",
    "Truncate",
    "build_tokenizer",
]
