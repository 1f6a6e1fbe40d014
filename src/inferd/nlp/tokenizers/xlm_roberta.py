"""The ``xlm_roberta`` tokenization: Unigram from scores, ``<s> a </s></s> b </s>``."""

from __future__ import annotations

from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.specials import XLM_ROBERTA_SPECIALS
from inferd.nlp.tokenizers.unigram import unigram_backend


def build_xlm_roberta(vocabulary: list[str], scores: list[float] | None, options: TokenizerOptions) -> NlpTokenizer:
    backend, ids = unigram_backend(
        vocabulary, scores, XLM_ROBERTA_SPECIALS, do_lower_case=options.do_lower_case, byte_fallback=False
    )
    return NlpTokenizer("xlm_roberta", backend, XLM_ROBERTA_SPECIALS, ids, options, word_per_token=True)
