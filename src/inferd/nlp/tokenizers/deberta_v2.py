"""The ``deberta_v2`` tokenization: Unigram from scores with byte fallback, ``[CLS] a [SEP] b [SEP]``."""

from __future__ import annotations

from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.specials import DEBERTA_V2_SPECIALS
from inferd.nlp.tokenizers.unigram import unigram_backend


def build_deberta_v2(vocabulary: list[str], scores: list[float] | None, options: TokenizerOptions) -> NlpTokenizer:
    # Byte fallback: characters missing from the vocabulary become <0xNN> tokens, not [UNK].
    backend, ids = unigram_backend(
        vocabulary, scores, DEBERTA_V2_SPECIALS, do_lower_case=options.do_lower_case, byte_fallback=True
    )
    return NlpTokenizer(
        "deberta_v2", backend, DEBERTA_V2_SPECIALS, ids, options, word_per_token=True, byte_fallback=True
    )
