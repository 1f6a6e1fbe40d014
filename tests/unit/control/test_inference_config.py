import pytest
from pydantic import ValidationError

from inferd.control.inference_config import InferenceConfig
from inferd.control.memory import estimate_memory_bytes

BERT_DEFAULTS = {"do_lower_case": False, "with_special_tokens": True, "max_sequence_length": 512,
                 "truncate": "first", "span": -1}


def test_defaults_are_filled_in() -> None:
    rendered = InferenceConfig.model_validate({"text_embedding": {}}).render()
    assert rendered == {"text_embedding": {"tokenization": {"bert": BERT_DEFAULTS}, "results_field": "predicted_value"}}


def test_fill_mask_gets_its_tokenizers_mask_token() -> None:
    config = {"fill_mask": {"tokenization": {"roberta": {}}}}
    rendered = InferenceConfig.model_validate(config).render()["fill_mask"]
    assert rendered["mask_token"] == "<mask>"
    assert rendered["tokenization"]["roberta"]["add_prefix_space"] is False


def test_wrong_mask_token_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"Mask token requested was \[<mask>\] but must be \[\[MASK\]\]"):
        InferenceConfig.model_validate({"fill_mask": {"mask_token": "<mask>"}})


def test_zero_shot_needs_the_three_nli_labels() -> None:
    ok = {"zero_shot_classification": {"classification_labels": ["Entailment", "neutral", "contradiction"]}}
    assert InferenceConfig.model_validate(ok).render()["zero_shot_classification"]["hypothesis_template"] == (
        "This example is {}."
    )
    with pytest.raises(ValidationError, match=r"Invalid labels \[maybe\]"):
        InferenceConfig.model_validate(
            {"zero_shot_classification": {"classification_labels": ["entailment", "maybe", "contradiction"]}}
        )


@pytest.mark.parametrize(
    "config",
    [{}, {"ner": {}, "fill_mask": {}}, {"ner": {"tokenization": {"bert": {}, "mpnet": {}}}},
     {"ner": {"tokenization": {"bert": {"span": 128}}}}, {"ner": {"bogus": 1}}],
)
def test_bad_containers_and_options_are_refused(config: dict) -> None:
    with pytest.raises(ValidationError):
        InferenceConfig.model_validate(config)


def test_span_needs_truncate_none() -> None:
    config = {"ner": {"tokenization": {"bert": {"span": 128, "truncate": "none"}}}}
    assert InferenceConfig.model_validate(config).render()["ner"]["tokenization"]["bert"]["span"] == 128


def test_memory_estimate_follows_elasticsearch() -> None:
    mib = 1024 * 1024
    assert estimate_memory_bytes(1630) == 240 * mib + 2 * 1630
    assert estimate_memory_bytes(100 * mib, 900 * mib, 10 * mib, allocations=2) == 900 * mib + 20 * mib + 100 * mib
    assert estimate_memory_bytes(1630, allocations=0) == 0
