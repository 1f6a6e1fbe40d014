"""Cases ported from Elasticsearch's tokenizer tests for roberta, mpnet, xlm_roberta and deberta_v2
(elastic/elasticsearch, x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/tokenizers/).
Each test names the Java class and method it ports."""

from __future__ import annotations

import pytest

from inferd.nlp import TokenizerConfigError, TokenizerOptions, build_tokenizer
from tests.unit.nlp.tokenizers.es_bpe_vocab import TEST_CASE_MERGE, TEST_CASED_VOCAB as BPE_VOCAB

MPNET_VOCAB = [
    "Elastic", "##search", "is", "fun", "my", "little", "red", "car", "God", "##zilla", ".", ",",
    "<s>", "</s>", "<mask>", "[UNK]", "day", "Pancake", "with", "<pad>",
]  # fmt: skip
XLMR_VOCAB = [
    "<s>", "<pad>", "</s>", "<unk>", "▁Ela", "stic", "search", "▁is", "▁fun", "▁God", "z", "illa", "▁my",
    "▁little", "▁red", "▁car", "<mask>", ".",
]  # fmt: skip
XLMR_SCORES = [
    0.0, 0.0, 0.0, 0.0, -12.535264015197754, -12.300995826721191, -13.255199432373047, -7.402246475219727,
    -11.201482772827148, -10.576351165771484, -7.898513317108154, -10.230172157287598, -9.18289566040039,
    -11.451579093933105, -10.858806610107422, -10.214239120483398, 0.0, -3.0,
]  # fmt: skip
DEBERTA_VOCAB = [
    "[CLS]", "[PAD]", "[SEP]", "[UNK]", "▁Ela", "stic", "search", "▁is", "▁fun", "▁God", "z", "illa", "▁my",
    "▁little", "▁red", "▁car", "▁😀", "▁🇸🇴", "[MASK]", ".", "<0xC2>", "<0xAD>", "▁",
]  # fmt: skip
DEBERTA_SCORES = [
    0.0, 0.0, 0.0, 0.0, -12.535264015197754, -12.300995826721191, -13.255199432373047, -7.402246475219727,
    -11.201482772827148, -10.576351165771484, -7.898513317108154, -10.230172157287598, -9.18289566040039,
    -11.451579093933105, -10.858806610107422, -10.214239120483398, -10.230172157287598, -9.451579093933105,
    0.0, -3.0, 1.0, 2.0, -7.97025,
]  # fmt: skip


def roberta(**options: object):  # type: ignore[no-untyped-def]
    return build_tokenizer("roberta", BPE_VOCAB, merges=TEST_CASE_MERGE, options=TokenizerOptions(**options))  # type: ignore[arg-type]


def tokens_of(tokenizer, text: str) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tokenizer.encode(text)[0].tokens  # type: ignore[no-any-return]


# -- RobertaTokenizerTests / BpeTokenizerTests -------------------------------------------------
def test_roberta_tokenize() -> None:  # RobertaTokenizerTests.testTokenize
    enc = roberta(truncate="none").encode("Elasticsearch fun")[0]
    assert enc.tokens[1:-1] == ("Elast", "icsearch", "Ġfun")
    assert enc.token_ids == (0, 297, 299, 275, 2)
    assert enc.token_map == (-1, 0, 0, 1, -1)


def test_roberta_multi_seq_tokenization() -> None:  # RobertaTokenizerTests.testMultiSeqTokenization
    enc = roberta(truncate="none").encode_pair("Elasticsearch is fun", " Godzilla my little red car")[0]
    assert [BPE_VOCAB[i] for i in enc.token_ids] == [
        "<s>", "Elast", "icsearch", "Ġ", "i", "s", "Ġfun", "</s>", "</s>",
        "ĠGodzilla", "Ġ", "m", "y", "Ġlittle", "Ġred", "Ġcar", "</s>",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # BpeTokenizerTests.testNeverSplit
        ("Elasticsearch <<mask>.", ("Elast", "icsearch", "Ġ", "<", "<mask>", ".")),
        ("Elasticsearch < red", ("Elast", "icsearch", "Ġ", "<", "Ġred")),
        ("Elasticsearch <mask>.", ("Elast", "icsearch", "<mask>", ".")),
        (
            "Elasticsearch<mask><mask>~redElasticsearch",
            ("Elast", "icsearch", "<mask>", "<mask>", "~", "red", "Elast", "icsearch"),
        ),  # noqa: E501
        ("Elasticsearch red~<mask>.", ("Elast", "icsearch", "Ġred", "~", "<mask>", ".")),
        ("Elasticsearch red~<mask><mask>.", ("Elast", "icsearch", "Ġred", "~", "<mask>", "<mask>", ".")),
        ("Elasticsearch <mask>!!", ("Elast", "icsearch", "<mask>", "!", "!")),
    ],
)
def test_bpe_never_split(text: str, expected: tuple[str, ...]) -> None:
    assert tokens_of(roberta(with_special_tokens=False), text) == expected


def test_bpe_tokenization_ids_map_and_offsets() -> None:  # BpeTokenizerTests.testTokenization
    text = "Elasticsearch Godzilla car"
    enc = roberta(with_special_tokens=False).encode(text)[0]
    assert enc.token_ids == (297, 299, 277, 293)
    assert enc.token_map == (0, 0, 1, 2)
    assert [text[s:e] for s, e in enc.offsets[2:]] == ["Godzilla", "car"]
    assert text[enc.offsets[0][0] : enc.offsets[1][1]] == "Elasticsearch"


def test_bpe_offsets_with_prefix_whitespace() -> None:  # BpeTokenizerTests.testTokenizationOffsetsWithPrefixWhitespace
    text = "Godzilla car"
    enc = roberta(with_special_tokens=False, add_prefix_space=True).encode(text)[0]
    assert enc.tokens == ("ĠGodzilla", "Ġcar")
    assert [text[s:e] for s, e in enc.offsets] == ["Godzilla", "car"]


def test_bpe_tokenization_empty() -> None:  # BpeTokenizerTests.testTokenizationEmpty
    assert roberta(with_special_tokens=False).encode("")[0].token_ids == ()
    assert roberta().encode("")[0].token_ids == (0, 2)


def test_roberta_requires_merges() -> None:
    with pytest.raises(TokenizerConfigError):
        build_tokenizer("roberta", BPE_VOCAB)


# -- MPNetTokenizerTests ---------------------------------------------------------------------
def test_mpnet_tokenize() -> None:  # MPNetTokenizerTests.testTokenize
    enc = build_tokenizer("mpnet", MPNET_VOCAB, options=TokenizerOptions(with_special_tokens=False)).encode(
        "Elasticsearch fun"
    )[0]
    assert (enc.tokens, enc.token_ids, enc.token_map) == (("Elastic", "##search", "fun"), (0, 1, 3), (0, 0, 1))


def test_mpnet_multi_seq_tokenization() -> None:  # MPNetTokenizerTests.testMultiSeqTokenization
    tok = build_tokenizer("mpnet", MPNET_VOCAB, options=TokenizerOptions(truncate="none"))  # type: ignore[arg-type]
    enc = tok.encode_pair("Elasticsearch is fun", "Godzilla my little red car")[0]
    assert enc.token_ids == (12, 0, 1, 2, 3, 13, 13, 8, 9, 4, 5, 6, 7, 13)
    assert tok.mask_token == "<mask>" and tok.mask_token_id == 14 and tok.pad_token_id == 19


# -- XLMRobertaTokenizerTests -------------------------------------------------------------------
def xlmr(**options: object):  # type: ignore[no-untyped-def]
    return build_tokenizer("xlm_roberta", XLMR_VOCAB, scores=XLMR_SCORES, options=TokenizerOptions(**options))  # type: ignore[arg-type]


def test_xlm_roberta_tokenize() -> None:  # XLMRobertaTokenizerTests.testTokenize
    enc = xlmr(with_special_tokens=False, truncate="none").encode("Elasticsearch fun")[0]
    assert enc.tokens == ("▁Ela", "stic", "search", "▁fun")
    assert enc.token_ids == (4, 5, 6, 8)
    assert enc.token_map == (0, 1, 2, 3)


def test_xlm_roberta_never_split() -> None:  # XLMRobertaTokenizerTests.testTokenizeWithNeverSplit
    assert tokens_of(xlmr(with_special_tokens=False), "Elasticsearch .<mask>.") == (
        "▁Ela", "stic", "search", "▁", ".", "<mask>", "▁", ".",
    )  # fmt: skip


def test_xlm_roberta_multi_seq_tokenization() -> None:  # XLMRobertaTokenizerTests.testMultiSeqTokenization
    enc = xlmr(truncate="none").encode_pair("Elasticsearch is fun", "Godzilla my little red car")[0]
    assert [XLMR_VOCAB[i] for i in enc.token_ids] == [
        "<s>", "▁Ela", "stic", "search", "▁is", "▁fun", "</s>", "</s>",
        "▁God", "z", "illa", "▁my", "▁little", "▁red", "▁car", "</s>",
    ]  # fmt: skip


def test_unigram_requires_one_score_per_token() -> None:
    with pytest.raises(TokenizerConfigError):
        build_tokenizer("xlm_roberta", XLMR_VOCAB, scores=XLMR_SCORES[:-1])


# -- DebertaV2TokenizerTests --------------------------------------------------------------------
def deberta(**options: object):  # type: ignore[no-untyped-def]
    return build_tokenizer("deberta_v2", DEBERTA_VOCAB, scores=DEBERTA_SCORES, options=TokenizerOptions(**options))  # type: ignore[arg-type]


def test_deberta_tokenize() -> None:  # DebertaV2TokenizerTests.testTokenize
    enc = deberta(with_special_tokens=False, truncate="none").encode("Elasticsearch fun")[0]
    assert (enc.tokens, enc.token_ids, enc.token_map) == (
        ("▁Ela", "stic", "search", "▁fun"),
        (4, 5, 6, 8),
        (0, 1, 2, 3),
    )


def test_deberta_hidden_control_characters() -> None:  # DebertaV2TokenizerTests.testTokenizeWithHiddenControlCharacters
    assert tokens_of(deberta(with_special_tokens=False), "\u009f\u008fz") == ("▁", "z")


def test_deberta_surrogate_pair() -> None:  # DebertaV2TokenizerTests.testSurrogatePair
    tok = deberta(with_special_tokens=False)
    enc = tok.encode("Elastic\u00adsearch 😀\u00ad fun")[0]
    assert enc.token_ids == (4, 5, 20, 21, 6, 16, 20, 21, 8)
    assert enc.tokens == ("▁Ela", "stic", "<0xC2>", "<0xAD>", "search", "▁😀", "<0xC2>", "<0xAD>", "▁fun")
    assert tokens_of(tok, "😀") == ("▁😀",)
    assert tokens_of(tok, "Elasticsearch 😀") == ("▁Ela", "stic", "search", "▁😀")
    assert tokens_of(tok, "Elasticsearch 😀 fun") == ("▁Ela", "stic", "search", "▁😀", "▁fun")


def test_deberta_multi_byte_emoji() -> None:  # DebertaV2TokenizerTests.testMultiByteEmoji
    tok = deberta(with_special_tokens=False)
    enc = tok.encode("🇸🇴")[0]
    assert enc.tokens == ("▁🇸🇴",) and enc.token_ids[0] != 3
    assert tokens_of(tok, "🏁") == ("▁", "<0xF0>", "<0x9F>", "<0x8F>", "<0x81>")


def test_deberta_never_split() -> None:  # DebertaV2TokenizerTests.testTokenizeWithNeverSplit
    assert tokens_of(deberta(with_special_tokens=False), "Elasticsearch .[MASK].") == (
        "▁Ela", "stic", "search", "▁", ".", "[MASK]", "▁", ".",
    )  # fmt: skip


def test_deberta_multi_seq_tokenization() -> None:  # DebertaV2TokenizerTests.testMultiSeqTokenization
    enc = deberta(truncate="none").encode_pair("Elasticsearch is fun", "Godzilla my little red car")[0]
    assert [DEBERTA_VOCAB[i] for i in enc.token_ids] == [
        "[CLS]", "▁Ela", "stic", "search", "▁is", "▁fun", "[SEP]",
        "▁God", "z", "illa", "▁my", "▁little", "▁red", "▁car", "[SEP]",
    ]  # fmt: skip
