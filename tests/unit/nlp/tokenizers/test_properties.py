"""Properties over any Unicode text (Hypothesis): every kind tokenizes any string, offsets lie inside
the text, windows cover the whole input in order, and a word cut by truncation or a window keeps its span."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferd.nlp import Encoding, NlpError, NlpTokenizer, TokenizerOptions, build_tokenizer
from tests.unit.nlp.tokenizers.es_bpe_vocab import TEST_CASE_MERGE, TEST_CASED_VOCAB as BPE_VOCAB
from tests.unit.nlp.tokenizers.strings import random_unicode, varied_strings
from tests.unit.nlp.tokenizers.test_bert_es_cases import TEST_CASED_VOCAB
from tests.unit.nlp.tokenizers.test_other_kinds_es_cases import (
    DEBERTA_SCORES,
    DEBERTA_VOCAB,
    MPNET_VOCAB,
    XLMR_SCORES,
    XLMR_VOCAB,
)

BYTES = [f"<0x{b:02X}>" for b in range(256) if f"<0x{b:02X}>" not in DEBERTA_VOCAB]


def make(kind: str, options: TokenizerOptions) -> NlpTokenizer:
    if kind in ("bert", "bert_ja"):
        return build_tokenizer(kind, TEST_CASED_VOCAB + list("abcdefghijklmnopqrstuvwxyz東京テ"), options=options)
    if kind == "mpnet":
        return build_tokenizer(kind, MPNET_VOCAB, options=options)
    if kind == "roberta":
        return build_tokenizer(kind, BPE_VOCAB, merges=TEST_CASE_MERGE, options=options)
    if kind == "xlm_roberta":
        return build_tokenizer(kind, XLMR_VOCAB, scores=XLMR_SCORES, options=options)
    return build_tokenizer(kind, DEBERTA_VOCAB + BYTES, scores=DEBERTA_SCORES + [-20.0] * len(BYTES), options=options)


KINDS = ["bert", "bert_ja", "mpnet", "roberta", "xlm_roberta", "deberta_v2"]


TOKENIZERS = {kind: make(kind, TokenizerOptions(max_sequence_length=64)) for kind in KINDS}
WHOLE = {kind: make(kind, TokenizerOptions(max_sequence_length=100_000, with_special_tokens=False)) for kind in KINDS}
WINDOWED = {
    (kind, span): make(kind, TokenizerOptions(max_sequence_length=12, truncate="none", span=span))  # type: ignore[arg-type]
    for kind in KINDS
    for span in (0, 3)
}
# Any Unicode text, plus runs of the characters tokenizers treat specially.
TEXTS = st.text(max_size=300) | st.text(alphabet=" \t\n\u00a0\u3000éÉ東京テ🙂a.,-'#", max_size=300) | st.sampled_from(
    varied_strings(50, 7) + [random_unicode(random.Random(seed)) for seed in range(20)]
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", KINDS)
@PROPERTY
@given(text=TEXTS)
def test_any_string_tokenizes_with_offsets_inside_the_text(kind: str, text: str) -> None:
    for enc in TOKENIZERS[kind].encode(text):
        assert len(enc.token_ids) == len(enc.tokens) == len(enc.offsets) == len(enc.token_map) <= 64
        for (start, end), seq in zip(enc.offsets, enc.sequence_ids, strict=True):
            assert 0 <= start <= end <= len(text), (text, start, end)
            assert seq in (0, None)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("span", [0, 3])
@PROPERTY
@given(text=TEXTS)
def test_windows_cover_the_whole_input_in_order(kind: str, span: int, text: str) -> None:
    full = WHOLE[kind].encode(text)[0]
    windows = WINDOWED[(kind, span)].encode(text)
    assert [w.span_index for w in windows] == list(range(len(windows)))
    rebuilt: list[int] = []
    for w in windows:
        body = [t for t, s in zip(w.token_ids, w.sequence_ids, strict=True) if s is not None]
        assert len(w.token_ids) <= 12
        overlap = 0 if w.span_prev < 0 else w.span_prev
        assert body[:overlap] == rebuilt[len(rebuilt) - overlap :]
        rebuilt.extend(body[overlap:])
    assert rebuilt == list(full.token_ids), text


@pytest.mark.parametrize("kind", KINDS)
def test_pairs_keep_the_first_text_whole_in_every_window(kind: str) -> None:
    tok = make(kind, TokenizerOptions(max_sequence_length=24, truncate="none", span=2))  # type: ignore[arg-type]
    rng = random.Random(3)
    encoded = 0
    for _ in range(100):
        first, second = random_unicode(rng, 4), random_unicode(rng, 80)
        try:
            windows = tok.encode_pair(first, second)
        except Exception as error:  # only Elasticsearch's documented refusals are allowed
            assert "Unable to do sequence pair tokenization" in str(error) or "span setting" in str(error)
            continue
        encoded += 1
        heads = {tuple(t for t, s in zip(w.token_ids, w.sequence_ids, strict=True) if s == 0) for w in windows}
        assert len(heads) == 1
        for w in windows:
            assert len(w.token_ids) <= 24
            for (start, end), seq in zip(w.offsets, w.sequence_ids, strict=True):
                text = first if seq == 0 else second
                assert 0 <= start <= end <= len(text)
    assert encoded >= 20, f"only {encoded} of 100 pairs could be encoded: the property was barely exercised"


def word_spans(encoding: Encoding) -> dict[int, tuple[int, int]]:
    """Each word's span in the first text: its first piece's start to its last piece's end."""
    spans: dict[int, tuple[int, int]] = {}
    for word, (start, end), sequence in zip(encoding.token_map, encoding.offsets, encoding.sequence_ids, strict=True):
        if sequence == 0:
            spans[word] = (spans.get(word, (start, end))[0], end)
    return spans


@pytest.mark.parametrize("kind", KINDS)
@PROPERTY
@given(text=TEXTS)
def test_a_word_cut_by_truncation_or_a_window_keeps_its_whole_span(kind: str, text: str) -> None:
    """Elasticsearch's pieces carry their word's offsets, so its NER entities and answers cover whole words."""
    whole = word_spans(WHOLE[kind].encode(text)[0])
    for encoding in [*TOKENIZERS[kind].encode(text), *WINDOWED[(kind, 0)].encode(text)]:
        for word, span in word_spans(encoding).items():
            assert span == whole[word], (text, word)


def _without_positions(encoding: Encoding) -> tuple[object, ...]:
    return (encoding.token_ids, encoding.sequence_ids, encoding.token_map, encoding.span_index, encoding.span_prev,
            encoding.is_truncated)


@pytest.mark.parametrize("kind", KINDS)
@PROPERTY
@given(text=TEXTS, second=TEXTS)
def test_encoding_without_positions_gives_the_same_model_inputs(kind: str, text: str, second: str) -> None:
    """What an output-only task is fed (`positions=False`) is what the full encoding feeds the model, windows,
    truncation and pairs included; only the token strings and offsets are left out."""
    for tokenizer in (TOKENIZERS[kind], WINDOWED[(kind, 3)]):
        full, bare = tokenizer.encode(text), tokenizer.encode(text, positions=False)
        assert [_without_positions(e) for e in bare] == [_without_positions(e) for e in full]
        assert all(e.tokens == () and e.offsets == () for e in bare)
    pair = _pair_inputs(TOKENIZERS[kind], text, second, positions=True)
    assert _pair_inputs(TOKENIZERS[kind], text, second, positions=False) == pair


def _pair_inputs(tokenizer: NlpTokenizer, first: str, second: str, *, positions: bool) -> object:
    """The pair's model inputs, or the error refusing it (a pair too long for the window is refused either way)."""
    try:
        return [_without_positions(e) for e in tokenizer.encode_pair(first, second, positions=positions)]
    except NlpError as error:
        return str(error)
