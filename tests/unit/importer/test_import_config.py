"""The PUT config body of each traced test model, task types, labels, and sentence-transformers layers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from inferd.importer import (
    PrefixStrings,
    TaskType,
    UnsupportedModel,
    classification_labels,
    load_traced_model,
    model_config,
    parse_task_type,
)
from inferd.importer.pooling import Dense, Normalize, Pooling, read_layout
from tests.support import models as support_models
from tests.support.models import KINDS, NER_LABELS, SCRIPTED_KINDS, VOCABULARY, TestModel, make_test_model

# kind -> the task options besides tokenization.
EXPECTED_OPTIONS: dict[str, dict[str, object]] = {
    "echo": {},
    "slow": {},
    "pass_through": {},
    "fill_mask": {},
    "text_expansion": {},
    "text_similarity": {},
    "question_answering": {},
    "text_embedding": {"embedding_size": 32},
    "text_classification": {"classification_labels": ["negative", "positive"]},
    "zero_shot_classification": {"classification_labels": ["contradiction", "neutral", "entailment"]},
    "ner": {"classification_labels": [label.replace("-", "_") for label in NER_LABELS]},
}


@pytest.mark.parametrize("kind", KINDS)
def test_config_is_what_eland_sends(kind: str, model_of: Callable[[str], TestModel]) -> None:
    model = model_of(kind)
    config = model.config
    assert set(config) == {"description", "model_type", "inference_config", "input", "metadata"}
    assert config["model_type"] == "pytorch"
    assert config["input"] == {"field_names": ["text_field"]}
    task = "pass_through" if kind in SCRIPTED_KINDS else kind
    assert list(config["inference_config"]) == [task] and model.task_type == TaskType(task)
    options = dict(config["inference_config"][task])
    [(tokenizer_kind, tokenization)] = options.pop("tokenization").items()
    assert tokenizer_kind == "bert"
    assert tokenization["do_lower_case"] is True and tokenization["with_special_tokens"] is True
    assert options == EXPECTED_OPTIONS[kind]
    metadata = config["metadata"]
    assert all(isinstance(value, int) for value in metadata.values())
    assert metadata["per_allocation_memory_bytes"] > 0
    if kind not in SCRIPTED_KINDS:  # the tiny BERTs hold ~40k float32 weights
        assert 100_000 < metadata["per_deployment_memory_bytes"] < 10 * model.size_bytes
    assert json.loads(json.dumps(config)) == config  # plain JSON, ready for the client


@pytest.mark.parametrize("kind", KINDS)
def test_vocabulary_body_matches_the_tokenizer(kind: str, model_of: Callable[[str], TestModel]) -> None:
    assert model_of(kind).vocabulary == {"vocabulary": list(VOCABULARY)}


def test_saved_files_read_back_identically(model_of: Callable[[str], TestModel]) -> None:
    model = model_of("ner")
    traced = load_traced_model(model.definition_path.parent)
    assert (traced.config, traced.vocabulary, traced.size_bytes) == (model.config, model.vocabulary, model.size_bytes)


def test_task_types_accept_eland_spellings_and_refuse_others() -> None:
    assert parse_task_type("text-embedding") is TaskType.TEXT_EMBEDDING
    assert parse_task_type(" NER ") is TaskType.NER
    with pytest.raises(UnsupportedModel, match="Unknown task type \\[summarization\\]"):
        parse_task_type("summarization")


def test_prefix_strings_are_sent_as_eland_sends_them() -> None:
    def sent(prefixes: PrefixStrings | None) -> object:
        config = model_config(TaskType.PASS_THROUGH, {"bert": {}}, description="d", per_deployment_memory_bytes=1,
                              per_allocation_memory_bytes=1, prefix_strings=prefixes)
        return config.get("prefix_strings")

    assert sent(PrefixStrings(ingest="passage: ", search="query: ")) == {"ingest": "passage: ", "search": "query: "}
    assert sent(PrefixStrings(search="query: ")) == {"search": "query: "}
    assert sent(PrefixStrings(ingest="", search="query: ")) == {"ingest": "", "search": "query: "}
    assert sent(PrefixStrings(ingest="")) is None and sent(PrefixStrings()) is None and sent(None) is None


def test_classification_labels_follow_ids_and_become_java_friendly() -> None:
    assert classification_labels({"1": "I-PER", "0": "O", "10": "B-LOC", "2": "B-PER"}, TaskType.NER) == [
        "O", "I_PER", "B_PER", "B_LOC"
    ]  # fmt: skip
    assert classification_labels({0: "LABEL_0"}, TaskType.TEXT_SIMILARITY) is None
    with pytest.raises(UnsupportedModel, match="NLI model"):
        classification_labels({0: "negative", 1: "positive"}, TaskType.ZERO_SHOT_CLASSIFICATION)


def test_pooling_modes_ignore_padding() -> None:
    tokens = torch.tensor([[[1.0, 10.0], [3.0, -2.0], [100.0, 100.0]]])  # the third position is padding
    mask = torch.tensor([[1, 1, 0]])
    expected = {
        "cls": [1.0, 10.0],
        "max": [3.0, 10.0],
        "mean": [2.0, 4.0],
        "mean_sqrt_len_tokens": [4.0 / 2**0.5, 8.0 / 2**0.5],
        "weightedmean": [(1 * 1.0 + 2 * 3.0) / 3, (1 * 10.0 + 2 * -2.0) / 3],
        "lasttoken": [3.0, -2.0],
    }
    for mode, values in expected.items():
        torch.testing.assert_close(Pooling((mode,))(tokens, mask), torch.tensor([values]), msg=mode)
    assert Pooling(("cls", "mean"))(tokens, mask).tolist() == [[1.0, 10.0, 2.0, 4.0]]


def test_sentence_transformer_layout_with_dense_and_normalize(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    modules = [
        {"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
        {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 3, "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "max"}))
    (tmp_path / "2_Dense").mkdir()
    dense = {"in_features": 2, "out_features": 3, "activation_function": "torch.nn.modules.activation.Tanh"}
    (tmp_path / "2_Dense" / "config.json").write_text(json.dumps(dense))
    weight, bias = torch.arange(6.0).reshape(3, 2) / 10, torch.tensor([0.1, -0.1, 0.0])
    save_file({"linear.weight": weight, "linear.bias": bias}, str(tmp_path / "2_Dense" / "model.safetensors"))

    layout = read_layout(tmp_path)
    assert layout.transformer_dir == tmp_path
    assert [type(layer) for layer in layout.layers] == [Pooling, Dense, Normalize]
    x = torch.tensor([[1.0, 2.0]])
    torch.testing.assert_close(layout.layers[1](x, torch.ones(1, 1)), torch.tanh(x @ weight.T + bias))


def test_plain_models_get_mean_pooling_and_unknown_modules_are_refused(tmp_path: Path) -> None:
    layout = read_layout(tmp_path)
    assert len(layout.layers) == 1 and isinstance(layout.layers[0], Pooling) and layout.layers[0].modes == ("mean",)
    modules = [{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "path": "1_LSTM", "type": "sentence_transformers.models.LSTM"}]  # fmt: skip
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(UnsupportedModel, match="LSTM is not supported"):
        read_layout(tmp_path)


def test_test_models_are_cached_until_their_stamp_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []
    build_echo = support_models._build_echo
    monkeypatch.setattr(support_models, "_build_echo", lambda path, size: builds.append(path) or build_echo(path, size))
    first = make_test_model("echo", tmp_path)
    assert make_test_model("echo", tmp_path) == first
    assert len(builds) == 1
    (tmp_path / "echo" / "STAMP").write_text("built by older code")
    assert make_test_model("echo", tmp_path) == first
    assert len(builds) == 2
