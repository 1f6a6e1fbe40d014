"""A word cut by truncation or a window edge keeps its whole span, as in Elasticsearch, whose word pieces each
carry their word's offsets (WordPieceTokenFilter for bert, bert_ja and mpnet; BpeTokenizer for roberta).

xlm_roberta and deberta_v2 have no word to cut: Elasticsearch's UnigramTokenizer gives each sentencepiece its own
offsets and its own position, so each piece is a word of its own, and a kept piece keeps its own span.
"""

from __future__ import annotations

import pytest

from inferd.nlp import TokenizerOptions
from tests.unit.nlp.tokenizers.test_properties import KINDS, make

TEXT = "Elasticsearch fun"
FIRST_PIECE = {
    "bert": ("Elastic", (0, 13)), "bert_ja": ("Elastic", (0, 13)), "mpnet": ("Elastic", (0, 13)),
    "roberta": ("Elast", (0, 13)), "xlm_roberta": ("▁Ela", (0, 3)), "deberta_v2": ("▁Ela", (0, 3)),
}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_truncation_inside_a_word(kind: str) -> None:
    (encoding,) = make(kind, TokenizerOptions(max_sequence_length=3)).encode(TEXT)
    assert encoding.is_truncated
    token, span = FIRST_PIECE[kind]
    assert (encoding.tokens[1], encoding.offsets[1]) == (token, span)


@pytest.mark.parametrize("kind", KINDS)
def test_truncation_of_the_second_text_inside_a_word(kind: str) -> None:
    """Room for one piece of the second text (question answering's context)."""
    whole = make(kind, TokenizerOptions())
    room = whole.specials.extra_pair + len(whole.pieces("fun").ids) + 1
    (encoding,) = make(kind, TokenizerOptions(max_sequence_length=room, truncate="second")).encode_pair("fun", TEXT)
    assert encoding.is_truncated
    second = [(token, span) for token, span, sequence in zip(encoding.tokens, encoding.offsets, encoding.sequence_ids,
                                                             strict=True) if sequence == 1]
    assert second == [FIRST_PIECE[kind]]


@pytest.mark.parametrize("kind", ["bert", "bert_ja", "mpnet", "roberta"])
def test_windows_inside_a_word_longer_than_a_window(kind: str) -> None:
    """One piece per window: every window holding a piece of `Elasticsearch` spans the whole word."""
    windows = make(kind, TokenizerOptions(max_sequence_length=3, truncate="none", span=0)).encode(TEXT)
    assert [window.offsets[1] for window in windows] == [(0, 13), (0, 13), (14, 17)]
