"""The ``bert`` tokenization: WordPiece, ``[CLS] a [SEP] b [SEP]``."""

from __future__ import annotations

from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.specials import BERT_SPECIALS
from inferd.nlp.tokenizers.wordpiece import wordpiece_backend


def build_bert(vocabulary: list[str], options: TokenizerOptions) -> NlpTokenizer:
    backend, ids = wordpiece_backend(vocabulary, BERT_SPECIALS, do_lower_case=options.do_lower_case)
    return NlpTokenizer("bert", backend, BERT_SPECIALS, ids, options)
