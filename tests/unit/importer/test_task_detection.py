"""`--task-type auto`: eland's architecture table and tie-breaks, on configs made in memory and on model directories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferd.importer import TaskType, UnknownTaskType, UnsupportedModel, detect_task, detect_task_type
from inferd.importer.task_detection import ARCHITECTURE_TASKS
from tests.support.models import write_tiny_bert

transformers = pytest.importorskip("transformers")

NLI = {0: "CONTRADICTION", 1: "Neutral", 2: "entailment"}


def config(config_class: str, architectures: list[str] | None, **options: Any) -> Any:
    """A `transformers` config as `from_pretrained` reads it, made in memory."""
    if "id2label" in options:
        options["label2id"] = {label: index for index, label in options["id2label"].items()}
    return getattr(transformers, config_class)(architectures=architectures, **options)


# (config class, architecture) for every fragment of eland's table, across the model families it supports.
FAMILIES = {
    "MaskedLM": [("BertConfig", "BertForMaskedLM"), ("RobertaConfig", "RobertaForMaskedLM"),
                 ("DistilBertConfig", "DistilBertForMaskedLM"), ("MPNetConfig", "MPNetForMaskedLM"),
                 ("XLMRobertaConfig", "XLMRobertaForMaskedLM"), ("DebertaV2Config", "DebertaV2ForMaskedLM")],
    "TokenClassification": [("BertConfig", "BertForTokenClassification"),
                            ("ElectraConfig", "ElectraForTokenClassification"),
                            ("XLMRobertaConfig", "XLMRobertaForTokenClassification")],
    "SequenceClassification": [("BertConfig", "BertForSequenceClassification"),
                               ("RobertaConfig", "RobertaForSequenceClassification"),
                               ("DebertaV2Config", "DebertaV2ForSequenceClassification"),
                               ("MobileBertConfig", "MobileBertForSequenceClassification")],
    "QuestionAnswering": [("BertConfig", "BertForQuestionAnswering"),
                          ("RobertaConfig", "RobertaForQuestionAnswering")],
    "DPRQuestionEncoder": [("DPRConfig", "DPRQuestionEncoder")],
    "DPRContextEncoder": [("DPRConfig", "DPRContextEncoder")],
}  # fmt: skip
# What each fragment resolves to for a plain hub model with the default (two, unnamed) labels.
PLAIN = {
    "MaskedLM": TaskType.FILL_MASK,
    "TokenClassification": TaskType.NER,
    "SequenceClassification": TaskType.TEXT_CLASSIFICATION,
    "QuestionAnswering": TaskType.QUESTION_ANSWERING,
    "DPRQuestionEncoder": TaskType.TEXT_EMBEDDING,
    "DPRContextEncoder": TaskType.TEXT_EMBEDDING,
}


def test_every_fragment_of_elands_table_is_covered() -> None:
    assert FAMILIES.keys() == PLAIN.keys() == ARCHITECTURE_TASKS.keys()


@pytest.mark.parametrize(("fragment", "config_class", "architecture"),
                         [(fragment, *family) for fragment, families in FAMILIES.items() for family in families])
def test_each_architecture_family_maps_to_its_task(fragment: str, config_class: str, architecture: str) -> None:
    assert detect_task_type(config(config_class, [architecture]), "org/some-model") is PLAIN[fragment]


@pytest.mark.parametrize("config_class", ["BertConfig", "RobertaConfig", "DebertaV2Config"])
def test_sequence_classifiers_by_their_labels(config_class: str) -> None:
    architecture = config_class.replace("Config", "ForSequenceClassification")
    one_label = config(config_class, [architecture], id2label={0: "LABEL_0"})
    nli = config(config_class, [architecture], id2label=NLI)
    two_nli_labels = config(config_class, [architecture], id2label={0: "entailment", 1: "contradiction"})
    sentiment = config(config_class, [architecture], id2label={0: "negative", 1: "neutral", 2: "positive"})
    assert detect_task_type(one_label, "cross-encoder/ms-marco-MiniLM-L-6-v2") is TaskType.TEXT_SIMILARITY
    assert detect_task_type(nli, "facebook/bart-large-mnli") is TaskType.ZERO_SHOT_CLASSIFICATION
    assert detect_task_type(two_nli_labels, "x") is TaskType.ZERO_SHOT_CLASSIFICATION  # a subset, as eland checks
    assert detect_task_type(sentiment, "x") is TaskType.TEXT_CLASSIFICATION


def test_masked_lms_and_bare_encoders_of_sentence_transformers_are_text_embedding() -> None:
    masked = config("MPNetConfig", ["MPNetForMaskedLM"])
    bare = config("BertConfig", ["BertModel"])
    unnamed = config("BertConfig", None)
    for model in (masked, bare, unnamed):
        assert detect_task_type(model, "sentence-transformers/all-mpnet-base-v2") is TaskType.TEXT_EMBEDDING
        assert detect_task_type(model, "./all-mpnet-base-v2", sentence_transformers_layout=True) is (
            TaskType.TEXT_EMBEDDING)
    assert detect_task_type(masked, "./all-mpnet-base-v2") is TaskType.FILL_MASK


def test_no_architecture_or_an_unknown_one_asks_for_the_task_type() -> None:
    with pytest.raises(UnknownTaskType, match=r"model \[org/bert\] \(architectures \['BertModel'\]\); pass "
                                              r"--task-type, one of: fill_mask, ner, pass_through"):
        detect_task_type(config("BertConfig", ["BertModel"]), "org/bert")
    with pytest.raises(UnknownTaskType, match="no architectures in its config"):
        detect_task_type(config("BertConfig", None), "org/bert")
    with pytest.raises(UnknownTaskType, match="GPT2LMHeadModel"):
        detect_task_type(config("GPT2Config", ["GPT2LMHeadModel"]), "gpt2")


def test_architectures_of_unrelated_tasks_are_ambiguous() -> None:
    both = config("BertConfig", ["BertForTokenClassification", "BertForQuestionAnswering"])
    with pytest.raises(UnknownTaskType, match=r"several tasks: ner, question_answering\); pass --task-type"):
        detect_task_type(both, "org/two-heads")
    # Architectures outside the table are ignored beside one in it, as in eland.
    assert detect_task_type(config("BertConfig", ["BertForMaskedLM", "BertForPreTraining"]), "x") is TaskType.FILL_MASK


@pytest.mark.parametrize(("kind", "expected"), [
    (TaskType.NER, TaskType.NER),
    (TaskType.TEXT_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION),
    (TaskType.ZERO_SHOT_CLASSIFICATION, TaskType.ZERO_SHOT_CLASSIFICATION),
    (TaskType.TEXT_SIMILARITY, TaskType.TEXT_SIMILARITY),
    (TaskType.QUESTION_ANSWERING, TaskType.QUESTION_ANSWERING),
    (TaskType.FILL_MASK, TaskType.FILL_MASK),
    (TaskType.TEXT_EMBEDDING, TaskType.TEXT_EMBEDDING),  # a BertModel, recognised by its modules.json
])  # fmt: skip
def test_model_directories_are_read_without_loading_weights(kind: TaskType, expected: TaskType, tmp_path: Path) -> None:
    directory = write_tiny_bert(kind, tmp_path / kind.value)
    (directory / "model.safetensors").write_bytes(b"not weights")  # detection must not read them
    assert detect_task(directory, str(directory)) is expected


def test_a_directory_without_a_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match="Cannot read the model's config"):
        detect_task(tmp_path, str(tmp_path))
