"""The ``bert_ja`` tokenization: WordPiece over Japanese text.

Elasticsearch splits Japanese into words with Lucene's Kuromoji morphological analyser before
WordPiece. ``tokenizers`` has no morphological analyser, so the closest available pre-tokenizer
is used: BERT's whitespace/punctuation split followed by a split wherever the Unicode script
changes (``UnicodeScripts``; kanji and kana count as one script there), and no per-character
split of CJK ideographs. WordPiece then finds the longest vocabulary entries inside each run.
Ids therefore match Elasticsearch whenever Kuromoji's word boundaries coincide with punctuation,
whitespace or script changes, and may differ inside long kanji/kana runs.
"""

from __future__ import annotations

from tokenizers import pre_tokenizers

from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.specials import BERT_SPECIALS
from inferd.nlp.tokenizers.wordpiece import wordpiece_backend


def build_bert_ja(vocabulary: list[str], options: TokenizerOptions) -> NlpTokenizer:
    backend, ids = wordpiece_backend(
        vocabulary,
        BERT_SPECIALS,
        do_lower_case=options.do_lower_case,
        handle_chinese_chars=False,
        pre_tokenizer=pre_tokenizers.Sequence([pre_tokenizers.BertPreTokenizer(), pre_tokenizers.UnicodeScripts()]),
    )
    return NlpTokenizer("bert_ja", backend, BERT_SPECIALS, ids, options)
