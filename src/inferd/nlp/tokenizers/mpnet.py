"""The ``mpnet`` tokenization: BERT's WordPiece with ``<s>``/``</s>`` and ``<s> a </s></s> b </s>``."""

from __future__ import annotations

from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.specials import MPNET_SPECIALS
from inferd.nlp.tokenizers.wordpiece import wordpiece_backend


def build_mpnet(vocabulary: list[str], options: TokenizerOptions) -> NlpTokenizer:
    backend, ids = wordpiece_backend(vocabulary, MPNET_SPECIALS, do_lower_case=options.do_lower_case)
    return NlpTokenizer("mpnet", backend, MPNET_SPECIALS, ids, options)
