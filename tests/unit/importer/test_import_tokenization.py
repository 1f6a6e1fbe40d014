"""Tokenizer kinds, tokenization options and vocabulary payloads, on tokenizers built in memory."""

from __future__ import annotations

from typing import Any

import pytest

from inferd.importer import TaskType, UnsupportedModel, tokenization_config, tokenizer_kind, vocabulary_payload
from inferd.importer.tokenization import TWO_INPUT_KINDS, TokenizerKind, find_max_sequence_length
from tests.support.models import ROBERTA_MERGES, VOCABULARY

transformers = pytest.importorskip("transformers")

UNIGRAM = [
    ("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁the", -1.5), ("▁cat", -2.5), ("▁", -3.0),
    ("t", -4.0), ("h", -4.1), ("e", -4.2), ("c", -4.3), ("a", -4.4), ("<mask>", 0.0),
]  # fmt: skip


def bert(*, lower: bool = True, max_length: int | None = 512) -> Any:
    options = {} if max_length is None else {"model_max_length": max_length}
    return transformers.BertTokenizer(vocab={t: i for i, t in enumerate(VOCABULARY)}, do_lower_case=lower, **options)


def roberta() -> Any:
    from tokenizers import pre_tokenizers

    merged = ["".join(merge) for merge in ROBERTA_MERGES]
    vocabulary = ["<s>", "<pad>", "</s>", "<unk>", *sorted(pre_tokenizers.ByteLevel.alphabet()), *merged, "<mask>"]
    return transformers.RobertaTokenizer(
        vocab={t: i for i, t in enumerate(vocabulary)}, merges=list(ROBERTA_MERGES), add_prefix_space=True
    )


def test_bert_vocabulary_is_the_tokens_in_id_order_without_merges_or_scores() -> None:
    tokenizer = bert()
    payload = vocabulary_payload(tokenizer)
    assert payload == {"vocabulary": list(VOCABULARY)}
    tokens = ["[PAD]", "[CLS]", "cat"]
    assert [payload["vocabulary"].index(token) for token in tokens] == tokenizer.convert_tokens_to_ids(tokens)


@pytest.mark.parametrize("lower", [True, False])
def test_bert_tokenization_reads_do_lower_case(lower: bool) -> None:
    assert tokenization_config(bert(lower=lower), TaskType.NER) == {
        "bert": {"do_lower_case": lower, "with_special_tokens": True, "max_sequence_length": 512, "truncate": "first"}
    }


def test_roberta_vocabulary_carries_its_merges_as_space_separated_pairs() -> None:
    tokenizer = roberta()
    payload = vocabulary_payload(tokenizer)
    assert payload["merges"] == [" ".join(merge) for merge in ROBERTA_MERGES]
    by_id = {i: token for token, i in tokenizer.get_vocab().items()}
    assert payload["vocabulary"] == [by_id[i] for i in range(len(by_id))]
    assert "scores" not in payload
    assert tokenizer_kind(tokenizer) is TokenizerKind.ROBERTA and TokenizerKind.ROBERTA in TWO_INPUT_KINDS


def test_roberta_tokenization_has_add_prefix_space_and_its_max_length_skips_the_padding_offset() -> None:
    config = tokenization_config(roberta(), TaskType.TEXT_CLASSIFICATION, max_position_embeddings=514)
    assert config == {
        "roberta": {
            "add_prefix_space": True, "with_special_tokens": True, "max_sequence_length": 512, "truncate": "first"
        }  # fmt: skip
    }


def test_xlm_roberta_vocabulary_carries_unigram_scores_aligned_with_ids() -> None:
    tokenizer = transformers.XLMRobertaTokenizer(vocab=UNIGRAM)
    payload = vocabulary_payload(tokenizer)
    assert payload == {"vocabulary": [piece for piece, _ in UNIGRAM], "scores": [score for _, score in UNIGRAM]}
    assert tokenizer_kind(tokenizer) is TokenizerKind.XLM_ROBERTA
    config = tokenization_config(tokenizer, TaskType.TEXT_EMBEDDING, max_sequence_length=256)
    assert config == {"xlm_roberta": {"with_special_tokens": True, "max_sequence_length": 256, "truncate": "first"}}


def test_deberta_v2_and_mpnet_kinds() -> None:
    pieces = [("[PAD]", 0.0), ("[UNK]", 0.0), ("▁the", -1.0)]
    deberta = transformers.DebertaV2Tokenizer(vocab=pieces, do_lower_case=True)
    assert tokenization_config(deberta, TaskType.NER, max_sequence_length=128) == {
        "deberta_v2": {
            "do_lower_case": True, "with_special_tokens": True, "max_sequence_length": 128, "truncate": "first"
        }  # fmt: skip
    }
    payload = vocabulary_payload(deberta)
    assert payload["vocabulary"][:3] == ["[PAD]", "[UNK]", "▁the"]
    assert payload["scores"] == [0.0, 0.0, -1.0] + [0.0] * (len(payload["vocabulary"]) - 3)  # added specials score 0
    specials = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]
    mpnet = transformers.MPNetTokenizer(vocab={t: i for i, t in enumerate(specials)}, do_lower_case=False)
    assert tokenizer_kind(mpnet) is TokenizerKind.MPNET
    config = tokenization_config(mpnet, TaskType.TEXT_EMBEDDING, max_position_embeddings=514)
    assert config["mpnet"]["do_lower_case"] is False


def test_question_answering_uses_squad_windows_clamped_to_the_model() -> None:
    assert tokenization_config(bert(), TaskType.QUESTION_ANSWERING) == {
        "bert": {
            "do_lower_case": True, "with_special_tokens": True, "max_sequence_length": 386,
            "truncate": "none", "span": 128,
        }  # fmt: skip
    }
    short = tokenization_config(bert(max_length=128), TaskType.QUESTION_ANSWERING)["bert"]
    assert (short["max_sequence_length"], short["span"]) == (128, 64)


def test_text_similarity_truncates_the_second_text() -> None:
    assert tokenization_config(bert(), TaskType.TEXT_SIMILARITY)["bert"]["truncate"] == "second"


def test_max_sequence_length_override_wins_and_unknown_lengths_fall_back() -> None:
    assert tokenization_config(bert(), TaskType.FILL_MASK, max_sequence_length=64)["bert"]["max_sequence_length"] == 64
    no_limit = bert(max_length=None)  # model_max_length is then transformers' huge sentinel
    assert find_max_sequence_length(no_limit, TokenizerKind.BERT, None) == 512
    assert find_max_sequence_length(no_limit, TokenizerKind.BERT, 256) == 256
    with pytest.raises(UnsupportedModel, match="--max-model-input-length"):
        find_max_sequence_length(transformers.XLMRobertaTokenizer(vocab=UNIGRAM), TokenizerKind.XLM_ROBERTA, None)


def test_a_generic_tokenizer_around_a_bert_wordpiece_vocabulary_is_bert() -> None:
    generic = transformers.PreTrainedTokenizerFast(tokenizer_object=bert().backend_tokenizer, cls_token="[CLS]")
    assert type(generic).__name__ != "BertTokenizer"
    assert tokenizer_kind(generic) is TokenizerKind.BERT
    assert vocabulary_payload(generic) == {"vocabulary": list(VOCABULARY)}


def test_unknown_tokenizers_and_gappy_vocabularies_are_refused() -> None:
    class GPT2ishTokenizer:
        def get_vocab(self) -> dict[str, int]:
            return {"a": 0, "b": 2}

    with pytest.raises(UnsupportedModel, match="GPT2ishTokenizer is not supported"):
        tokenizer_kind(GPT2ishTokenizer())
    with pytest.raises(UnsupportedModel, match="not contiguous"):
        vocabulary_payload(GPT2ishTokenizer())
