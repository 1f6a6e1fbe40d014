"""Cases ported from Elasticsearch's ``BertTokenizerTests`` (elastic/elasticsearch,
x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/tokenizers/BertTokenizerTests.java).

Elasticsearch's ``tokenMap`` is ``Encoding.token_map``. Each test names the Java test it ports.
"""

from __future__ import annotations

import pytest

from inferd.nlp import InputTooLarge, InvalidTokenizationInput, TokenizerOptions, build_tokenizer

TEST_CASED_VOCAB = [
    "Elastic", "##search", "is", "fun", "my", "little", "red", "car", "God", "##zilla", ".", ",",
    "[CLS]", "[SEP]", "[MASK]", "[UNK]", "day", "Pancake", "with", "[PAD]", "?",
]  # fmt: skip


def bert(vocab: list[str] = TEST_CASED_VOCAB, **options: object):  # type: ignore[no-untyped-def]
    return build_tokenizer("bert", vocab, options=TokenizerOptions(**options))  # type: ignore[arg-type]


def test_tokenize() -> None:  # BertTokenizerTests.testTokenize
    enc = bert(with_special_tokens=False, truncate="none").encode("Elasticsearch fun")[0]
    assert enc.tokens == ("Elastic", "##search", "fun")
    assert enc.token_ids == (0, 1, 3)
    assert enc.token_map == (0, 0, 1)


def test_tokenize_failure_case_accent_filter() -> None:  # testTokenizeFailureCaseAccentFilter
    vocab = ["[CLS]", "br", "##ᄎ", "##ᅡ", "##ᆼ", "##n", "'", "s", "[SEP]", "[MASK]", "[UNK]", "[PAD]"]
    tok = bert(vocab, do_lower_case=True, with_special_tokens=True, truncate="none")
    assert tok.encode("Br창n's")[0].token_ids == (0, 1, 2, 3, 4, 5, 6, 7, 8)
    assert tok.encode("Br창n")[0].token_ids == (0, 1, 2, 3, 4, 5, 8)


def test_tokenize_large_input_no_truncation() -> None:  # testTokenizeLargeInputNoTruncation
    tok = bert(with_special_tokens=False, max_sequence_length=5, truncate="none")
    with pytest.raises(InputTooLarge) as info:
        tok.encode("Elasticsearch fun with Pancake and Godzilla")
    assert str(info.value) == "Input too large. The tokenized input length [8] exceeds the maximum sequence length [5]"
    tok.encode("Elasticsearch fun with Pancake")
    with pytest.raises(InputTooLarge):
        bert(with_special_tokens=True, max_sequence_length=5, truncate="none").encode("Elasticsearch fun with Pancake")


def test_tokenize_large_input_no_truncation_with_windowing() -> None:  # testTokenizeLargeInputNoTruncationWithWindowing
    tok = bert(max_sequence_length=5, truncate="none", span=0)
    encs = tok.encode("Pancake day fun with Elasticsearch and Godzilla")
    assert [e.token_ids for e in encs] == [(12, 17, 16, 3, 13), (12, 18, 0, 1, 13), (12, 15, 8, 9, 13)]
    assert [e.token_map for e in encs] == [(-1, 0, 1, 2, -1), (-1, 3, 4, 4, -1), (-1, 5, 6, 6, -1)]

    text = "Godzilla Elasticsearch day with Pancake and my little red car."
    encs = tok.encode(text)
    assert [e.token_ids for e in encs] == [
        (12, 8, 9, 13), (12, 0, 1, 16, 13), (12, 18, 17, 15, 13), (12, 4, 5, 6, 13), (12, 7, 10, 13),
    ]  # fmt: skip
    assert [e.token_map for e in encs] == [
        (-1, 0, 0, -1), (-1, 1, 1, 2, -1), (-1, 3, 4, 5, -1), (-1, 6, 7, 8, -1), (-1, 9, 10, -1),
    ]  # fmt: skip

    encs = tok.with_options(span=1).encode(text)
    assert len(encs) == 7
    assert (encs[0].token_ids, encs[0].token_map) == ((12, 8, 9, 13), (-1, 0, 0, -1))
    assert (encs[1].token_ids, encs[1].token_map) == ((12, 9, 0, 1, 13), (-1, 0, 1, 1, -1))

    encs = bert(with_special_tokens=False, max_sequence_length=5, truncate="none", span=1).encode(text)
    assert [e.token_ids for e in encs] == [(8, 9, 0, 1, 16), (16, 18, 17, 15, 4), (4, 5, 6, 7, 10)]
    assert [e.token_map for e in encs] == [(0, 0, 1, 1, 2), (2, 3, 4, 5, 6), (6, 7, 8, 9, 10)]
    assert [e.span_index for e in encs] == [0, 1, 2]
    assert [e.span_prev for e in encs] == [-1, 1, 1]


def test_tokenize_large_input_truncation() -> None:  # testTokenizeLargeInputTruncation
    enc = bert(with_special_tokens=False, max_sequence_length=5).encode("Elasticsearch fun with Pancake and Godzilla")[
        0
    ]
    assert enc.token_ids == (0, 1, 3, 18, 17)
    assert enc.is_truncated
    enc = bert(max_sequence_length=5).encode("Elasticsearch fun with Pancake and Godzilla")[0]
    assert enc.token_ids == (12, 0, 1, 3, 13)
    assert enc.token_map == (-1, 0, 0, 1, -1)
    assert bert().encode("Elasticsearch fun")[0].is_truncated is False


def test_tokenize_append_special_tokens() -> None:  # testTokenizeAppendSpecialTokens
    enc = bert().encode("Elasticsearch fun")[0]
    assert enc.token_ids == (12, 0, 1, 3, 13)
    assert enc.token_map == (-1, 0, 0, 1, -1)
    assert enc.special_tokens_mask == (1, 0, 0, 0, 1)


def test_do_lower_case() -> None:  # testDoLowerCase
    vocab = ["elastic", "##search", "fun", "[UNK]", "[PAD]"]
    tok = bert(vocab, do_lower_case=False, with_special_tokens=False)
    enc = tok.encode("Elasticsearch fun")[0]
    assert (enc.token_ids, enc.token_map) == ((3, 2), (0, 1))
    enc = tok.encode("elasticsearch fun")[0]
    assert (enc.token_ids, enc.token_map) == ((0, 1, 2), (0, 0, 1))
    enc = bert(vocab, do_lower_case=True, with_special_tokens=False).encode("Elasticsearch fun")[0]
    assert (enc.token_ids, enc.token_map) == ((0, 1, 2), (0, 0, 1))


def test_punctuation() -> None:  # testPunctuation
    tok = bert(with_special_tokens=False)
    enc = tok.encode("Elasticsearch, fun.")[0]
    assert enc.tokens == ("Elastic", "##search", ",", "fun", ".")
    assert (enc.token_ids, enc.token_map) == ((0, 1, 11, 3, 10), (0, 0, 1, 2, 3))
    enc = tok.encode("Elasticsearch, fun [MASK].")[0]
    assert (enc.token_ids, enc.token_map) == ((0, 1, 11, 3, 14, 10), (0, 0, 1, 2, 3, 4))


def test_punctuation_with_mask() -> None:  # testPunctuationWithMask
    vocab = ["[CLS]", "This", "is", "[MASK]", "-", "~", "ta", "##stic", "!", "[SEP]", "sub", ",", ".", "[UNK]", "[PAD]"]
    tok = bert(vocab)
    enc = tok.encode("This is [MASK]-tastic!")[0]
    assert enc.tokens[1:-1] == ("This", "is", "[MASK]", "-", "ta", "##stic", "!")
    assert (enc.token_ids, enc.token_map) == ((0, 1, 2, 3, 4, 6, 7, 8, 9), (-1, 0, 1, 2, 3, 4, 4, 5, -1))
    enc = tok.encode("This is sub~[MASK]!")[0]
    assert (enc.token_ids, enc.token_map) == ((0, 1, 2, 10, 5, 3, 8, 9), (-1, 0, 1, 2, 3, 4, 5, -1))
    enc = tok.encode("This is sub,[MASK].tastic!")[0]
    assert enc.token_ids == (0, 1, 2, 10, 11, 3, 12, 6, 7, 8, 9)
    assert enc.token_map == (-1, 0, 1, 2, 3, 4, 5, 6, 6, 7, -1)


@pytest.mark.parametrize(
    ("text", "ids", "token_map"),
    [  # testBatchInput
        ("Elasticsearch", (0, 1), (0, 0)),
        ("my little red car", (4, 5, 6, 7), (0, 1, 2, 3)),
        ("Godzilla day", (8, 9, 16), (0, 0, 1)),
        ("Godzilla Pancake red car day", (8, 9, 17, 6, 7, 16), (0, 0, 1, 2, 3, 4)),
    ],
)
def test_batch_input(text: str, ids: tuple[int, ...], token_map: tuple[int, ...]) -> None:
    enc = bert(with_special_tokens=False, truncate="none").encode(text)[0]
    assert (enc.token_ids, enc.token_map) == (ids, token_map)


def test_multi_seq_tokenization() -> None:  # testMultiSeqTokenization and testMultiSeqTokenizationWithSpan
    expected = (12, 0, 1, 2, 3, 13, 8, 9, 4, 5, 6, 7, 13)
    for tok in (bert(truncate="none"), bert(truncate="none", span=1)):
        encs = tok.encode_pair("Elasticsearch is fun", "Godzilla my little red car")
        assert len(encs) == 1
        assert encs[0].token_ids == expected
        assert encs[0].sequence_ids == (None, 0, 0, 0, 0, None, 1, 1, 1, 1, 1, 1, None)


def test_multi_seq_tokenization_with_span_on_long_input() -> None:  # testMultiSeqTokenizationWithSpanOnLongInput
    encs = bert(max_sequence_length=8, truncate="none", span=0).encode_pair(
        "Elasticsearch is fun", "Godzilla my little red car"
    )
    assert len(encs) == 6
    for enc, seventh in zip(encs, ["God", "##zilla", "my", "little", "red", "car"], strict=True):
        assert enc.tokens == ("[CLS]", "Elastic", "##search", "is", "fun", "[SEP]", seventh, "[SEP]")


def test_multi_seq_tokenization_with_span_first_input_too_long() -> (
    None
):  # testMultiSeqTokenizationWithSpanFirstInputTooLong
    with pytest.raises(InvalidTokenizationInput) as info:
        bert(max_sequence_length=3, truncate="none", span=2).encode_pair(
            "Elasticsearch is fun", "Godzilla my little red car"
        )
    assert (
        "Unable to do sequence pair tokenization: the first sequence [7 tokens] is longer than the max sequence length [3 tokens]"
        in str(info.value)
    )  # noqa: E501


def test_multi_seq_tokenization_with_span_plus_first_input_too_long() -> (
    None
):  # testMultiSeqTokenizationWithSpanPlusFirstInputTooLong
    # The message follows current NlpTokenizer.java ("span length and delimiting tokens [4 + 5 + 3 = 12 ...]").
    with pytest.raises(InvalidTokenizationInput) as info:
        bert(max_sequence_length=8, truncate="none", span=5).encode_pair(
            "Elasticsearch is fun", "Godzilla my little red car"
        )
    assert "is longer than the max sequence length [8 tokens]. Reduce the size of the [span] window." in str(info.value)


def test_tokenize_large_input_multi_sequence_truncation() -> None:  # testTokenizeLargeInputMultiSequenceTruncation
    first, second = "Elasticsearch is fun", "Godzilla my little red car"
    enc = bert(max_sequence_length=10, truncate="first").encode_pair(first, second)[0]
    assert enc.tokens == ("[CLS]", "Elastic", "[SEP]", "God", "##zilla", "my", "little", "red", "car", "[SEP]")
    assert enc.is_truncated
    with pytest.raises(InputTooLarge):
        bert(max_sequence_length=8, truncate="none").encode_pair(first, second)
    enc = bert(max_sequence_length=10, truncate="second").encode_pair(first, second)[0]
    assert enc.tokens == ("[CLS]", "Elastic", "##search", "is", "fun", "[SEP]", "God", "##zilla", "my", "[SEP]")


def test_multi_seq_requires_special_tokens() -> None:  # testMultiSeqRequiresSpecialTokens
    vocab = ["foo", "[UNK]", "[PAD]", "[CLS]", "[SEP]"]
    with pytest.raises(InvalidTokenizationInput):
        bert(vocab, with_special_tokens=False).encode_pair("foo", "foo")


def test_unknown_word_with_known_sub_words() -> None:  # testUnknownWordWithKnownSubWords
    enc = bert(with_special_tokens=False, truncate="none").encode("Elasticsearchfoo fun")[0]
    assert enc.tokens == ("[UNK]", "fun")
    assert enc.token_map == (0, 1)
    assert enc.offsets == ((0, 16), (17, 20))
