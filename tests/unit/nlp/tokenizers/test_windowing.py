"""Elasticsearch's window rule (NlpTokenizer.java) on positions alone, plus the per-request overrides."""

from __future__ import annotations

import pytest

from inferd.nlp import DEFAULT_SPAN, InvalidTokenizationInput, TokenizerOptions, build_tokenizer
from inferd.nlp.tokenizers.windowing import Window, split_windows
from tests.unit.nlp.tokenizers.test_bert_es_cases import TEST_CASED_VOCAB


def test_windows_never_end_inside_a_word_and_back_up_to_word_starts() -> None:
    # words: 0 0 1 2 2 2 3 4
    word_map = [0, 0, 1, 2, 2, 2, 3, 4]
    assert split_windows(word_map, 4, 1) == [Window(0, 3, -1), Window(2, 6, 1), Window(3, 7, 3), Window(6, 8, 1)]


def test_single_token_words_give_plain_strides() -> None:
    assert split_windows(list(range(10)), 4, 2) == [
        Window(0, 4, -1),
        Window(2, 6, 2),
        Window(4, 8, 2),
        Window(6, 10, 2),
    ]


def test_a_word_longer_than_the_window_is_cut() -> None:
    # Elasticsearch backs the end up to start + 1 inside a long word; the last window takes the rest.
    assert split_windows([0] * 5, 2, 0) == [Window(0, 1, -1), Window(1, 2, 0), Window(2, 3, 0), Window(3, 5, 0)]


def test_a_span_that_cannot_progress_is_refused_for_pairs_and_advanced_for_single_sequences() -> None:
    with pytest.raises(InvalidTokenizationInput):
        split_windows([0, 0, 0, 0, 1, 2], 3, 2, refuse_stall=True)
    windows = split_windows([0, 0, 0, 0, 1, 2], 3, 2)
    assert windows[-1].end == 6
    assert all(b.start > a.start for a, b in zip(windows, windows[1:], strict=False))


def test_default_span_is_half_the_window() -> None:
    tok = build_tokenizer(
        "bert", TEST_CASED_VOCAB, options=TokenizerOptions(max_sequence_length=6, span=DEFAULT_SPAN, truncate="none")
    )  # type: ignore[arg-type]  # noqa: E501
    encs = tok.encode("my little red car day with fun")
    assert [e.tokens[1:-1] for e in encs] == [
        ("my", "little", "red", "car"), ("red", "car", "day", "with"), ("day", "with", "fun"),
    ]  # fmt: skip
    assert [e.span_prev for e in encs] == [-1, 2, 2]


def test_request_overrides_share_the_backend() -> None:
    tok = build_tokenizer("bert", TEST_CASED_VOCAB, options=TokenizerOptions(max_sequence_length=4))
    text = "my little red car"
    assert tok.encode(text)[0].is_truncated
    assert len(tok.with_options(truncate="none", span=0).encode(text)) == 2
    assert tok.options.truncate == "first"  # the original is unchanged


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        TokenizerOptions(truncate="balanced")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TokenizerOptions(max_sequence_length=4, span=5)  # equal is allowed, as Elasticsearch allows it


def test_the_windows_of_one_document_are_bounded_before_they_are_built() -> None:
    assert len(split_windows(list(range(10)), 4, 3, max_windows=7)) == 7
    with pytest.raises(InvalidTokenizationInput, match=r"more than the \[6\] windows a document may have"):
        split_windows(list(range(10)), 4, 3, max_windows=6)
    with pytest.raises(InvalidTokenizationInput, match="max_document_windows"):
        split_windows(list(range(1_000_000)), 4, 3, max_windows=1000)


def test_a_tokenizers_window_bound_survives_request_overrides() -> None:
    tok = build_tokenizer("bert", TEST_CASED_VOCAB, options=TokenizerOptions(max_sequence_length=4))
    bounded = tok.with_options(max_windows=3).with_options(truncate="none", span=1)
    assert len(bounded.encode("my little red car")) == 3
    with pytest.raises(InvalidTokenizationInput, match=r"more than the \[3\] windows"):
        bounded.encode("my little red car day with fun")
    assert len(tok.with_options(truncate="none", span=1).encode("my little red car day with fun")) > 3


def test_a_span_as_long_as_the_sequence_is_allowed_as_in_elasticsearch() -> None:
    """Regression (fuzzing): `_infer` accepted span == max_sequence_length, then the tokenizer raised a ValueError
    that killed the worker's allocation thread. Windows now advance one token at a time."""
    tok = build_tokenizer("bert", TEST_CASED_VOCAB, options=TokenizerOptions(max_sequence_length=4))
    windows = tok.with_options(truncate="none", span=4).encode("my little red car")
    assert [list(w.tokens[1:-1]) for w in windows] == [["my", "little"], ["little", "red"], ["red", "car"]]
