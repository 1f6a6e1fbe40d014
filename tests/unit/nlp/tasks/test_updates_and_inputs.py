"""Per-request overrides and per-task inputs."""

from __future__ import annotations

import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer
from inferd.nlp.tasks import InvalidTaskInput, InvalidTaskOptions, TaskMismatch, apply_update, encode_document

STORED = {"tokenization": {"bert": {"truncate": "first", "span": -1, "max_sequence_length": 8}},
          "results_field": "predicted_value", "num_top_classes": 0}
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "is", "this", "example", "."]


def test_updates_merge_over_the_stored_options() -> None:
    update = {"text_classification": {"num_top_classes": 2, "tokenization": {"bert": {"truncate": "none"}}}}
    merged = apply_update("m", "text_classification", STORED, update)
    assert merged["num_top_classes"] == 2
    assert merged["tokenization"] == {"bert": {"truncate": "none", "span": -1, "max_sequence_length": 8}}
    assert STORED["num_top_classes"] == 0  # the stored options are untouched


@pytest.mark.parametrize(
    "update, error, message",
    [
        ({"ner": {}}, TaskMismatch, "Trained model [m] is configured for task [text_classification] but called with task [ner]"),
        ({"text_classification": {"hypothesis_template": "x"}}, InvalidTaskOptions, "unknown field [hypothesis_template]"),
        ({"text_classification": {"tokenization": {"bert": {"max_sequence_length": 9}}}}, InvalidTaskOptions,
         "unknown field [max_sequence_length]"),
        ({"text_classification": {"tokenization": {"roberta": {"truncate": "none"}}}}, InvalidTaskOptions,
         "of type [roberta]"),
    ],
)
def test_bad_updates(update: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        apply_update("m", "text_classification", STORED, update)
    assert message in str(raised.value)


def test_task_inputs() -> None:
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=16))
    zero_shot = {"labels": ["cat", "sat"], "hypothesis_template": "this is {} ."}
    pairs = encode_document("zero_shot_classification", zero_shot, tokenizer, "the cat")
    spelled = [tokenizer.encode_pair("the cat", hypothesis)[0] for hypothesis in ("this is cat .", "this is sat .")]
    assert [encoding.tokens for encoding in spelled] == [
        ("[CLS]", "the", "cat", "[SEP]", "this", "is", "cat", ".", "[SEP]"),
        ("[CLS]", "the", "cat", "[SEP]", "this", "is", "sat", ".", "[SEP]"),
    ]
    # zero-shot reads only the model's output: the same ids and segments, without token strings and offsets
    assert [(e.token_ids, e.sequence_ids) for e in pairs] == [(e.token_ids, e.sequence_ids) for e in spelled]
    assert [(e.tokens, e.offsets) for e in pairs] == [((), ()), ((), ())]
    answer = encode_document("question_answering", {"question": "this cat"}, tokenizer, "the cat sat")
    assert answer[0].tokens[:4] == ("[CLS]", "this", "cat", "[SEP]")
    with pytest.raises(InvalidTaskOptions, match=r"requires \[text\]"):
        encode_document("text_similarity", {}, tokenizer, "the cat")
    with pytest.raises(InvalidTaskInput, match=r"no \[MASK\] token could be found"):
        encode_document("fill_mask", {"mask_token": "[MASK]"}, tokenizer, "the cat")
    truncated = encode_document("ner", {"tokenization": {"bert": {"truncate": "first"}}},
                                tokenizer.with_options(), "the cat sat " * 10)
    assert truncated[0].is_truncated and len(truncated[0].token_ids) == 16


@pytest.mark.parametrize(
    "update, message",
    [
        ({"text_classification": 5}, "[text_classification] must be an object"),
        ({"text_classification": {"num_top_classes": "x"}}, "failed to parse field [num_top_classes]"),
        ({"text_classification": {"num_top_classes": True}}, "failed to parse field [num_top_classes]"),
        ({"text_classification": {"tokenization": {"bert": {"truncate": "balanced"}}}}, "[truncate] must be one of"),
        ({"text_classification": {"tokenization": {"bert": {"span": 3}}}},
         "[span] must not be provided when [truncate] is [first]"),
        ({"text_classification": {"tokenization": {"bert": {"truncate": "none", "span": 9}}}},
         "[span] provided [9] must not be greater than [max_sequence_length] provided [8]"),
        ({"text_classification": {"tokenization": {"bert": {"truncate": "none", "span": -2}}}},
         "[span] must be a non-negative integer or [-1]"),
    ],
)
def test_update_values_are_validated(update: dict, message: str) -> None:
    with pytest.raises(InvalidTaskOptions) as raised:
        apply_update("m", "text_classification", STORED, update)
    assert message in str(raised.value)


def test_a_truncating_update_drops_the_stored_span() -> None:
    spanned = {**STORED, "tokenization": {"bert": {"truncate": "none", "span": 2, "max_sequence_length": 8}}}
    merged = apply_update("m", "text_classification", spanned, {"text_classification": {"tokenization": {"bert": {
        "truncate": "first"}}}})
    assert merged["tokenization"]["bert"]["span"] == -1


def test_zero_shot_is_never_windowed() -> None:
    spanning = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=8, truncate="none",
                                                                           span=2))
    options = {"labels": ["cat"], "hypothesis_template": "this is {} .",
               "tokenization": {"bert": {"truncate": "first", "span": -1}}}
    pairs = encode_document("zero_shot_classification", options, spanning, "the cat sat the cat sat")
    assert len(pairs) == 1 and pairs[0].is_truncated
