"""A model's builds through the registry: creating, filling, failing, choosing the default, deploying, deleting."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest


from inferd.control import ModelRegistry
from inferd.control.builds import MAX_COMMENT_CHARS
from inferd.control.inference_config import InferenceConfig, TrainedModelConfigBody
from inferd.errors import BadRequest, IllegalArgument, ResourceNotFound, StatusConflict, ValidationFailed
from inferd.store import ModelStore, PartRecord, VocabularyRecord, open_store
from tests.support.clock import FakeClock

LABELS = {"text_classification": {"classification_labels": ["neg", "pos"]}}
DATA = b"definition"


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))


@pytest.fixture
def registry(store: ModelStore, tmp_path: Path) -> ModelRegistry:
    registry = ModelRegistry(store, FakeClock(), tmp_path)
    body = TrainedModelConfigBody.model_validate(
        {"model_type": "pytorch", "inference_config": LABELS, "input": {"field_names": ["text"]}, "tags": ["t"]}
    )
    registry.put_model("m", body)
    return registry


def config(options: dict) -> InferenceConfig:  # type: ignore[type-arg]
    return InferenceConfig.model_validate(options)


def fill(store: ModelStore, build_number: int) -> None:
    """Store a complete definition and a vocabulary, as the upload would once the check passed."""
    store.add_part("m", build_number, PartRecord(0, len(DATA), hashlib.sha256(DATA).hexdigest()), DATA,
                   total_definition_length=len(DATA), total_parts=1, definition_sha256=hashlib.sha256(DATA).hexdigest())
    store.put_vocabulary("m", build_number, VocabularyRecord(["a"], None, None))


def test_a_new_build_copies_the_default_config_with_the_new_inference_config(registry: ModelRegistry) -> None:
    build = registry.create_build("m", config({"text_classification": {"classification_labels": ["x", "y"]}}), "why")
    assert (build.build_number, build.comment, build.state) == (2, "why", "uploading")
    assert build.config["inference_config"]["text_classification"]["classification_labels"] == ["x", "y"]
    assert build.config["inference_config"]["text_classification"]["num_top_classes"] == 0  # defaults filled in
    assert build.config["tags"] == ["t"] and build.config["input"] == {"field_names": ["text"]}
    same = registry.create_build("m", None, None)  # nothing is ready: the default is the oldest build, 1
    assert same.build_number == 3 and same.config == registry.get_build("m", 1).config


def test_a_new_build_keeps_the_task_type_and_sets_no_vocabulary(registry: ModelRegistry) -> None:
    with pytest.raises(IllegalArgument, match=r"task type \[text_classification\].*\[text_embedding\]"):
        registry.create_build("m", config({"text_embedding": {}}), None)
    with pytest.raises(IllegalArgument, match=r"illegal setting \[vocabulary\]"):
        registry.create_build("m", config({"text_classification": {"vocabulary": {"index": "x"}}}), None)
    with pytest.raises(ValidationFailed, match=r"\[comment\] must be at most"):
        registry.create_build("m", None, "x" * (MAX_COMMENT_CHARS + 1))
    with pytest.raises(ResourceNotFound, match=r"Could not find trained model \[other\]"):
        registry.create_build("other", None, None)
    assert [b.build_number for b in registry.get_model("m").builds] == [1]


def test_parts_and_vocabulary_go_to_the_named_build_and_elasticsearchs_to_build_one(
    registry: ModelRegistry, store: ModelStore
) -> None:
    registry.create_build("m", None, None)
    registry.put_definition_part("m", 0, base64.b64encode(b"ab").decode(), 4, 2, build_number=2)
    registry.put_vocabulary("m", VocabularyRecord(["a"], None, None), build_number=2)
    registry.put_vocabulary("m", VocabularyRecord(["b"], None, None))
    assert registry.get_build("m", 2).stored_parts == 1 and registry.get_build("m", 1).stored_parts == 0
    assert store.get_vocabulary("m", 1) == VocabularyRecord(["b"], None, None)
    with pytest.raises(ResourceNotFound, match=r"Could not find build \[7\] of trained model \[m\]"):
        registry.put_definition_part("m", 0, "AAAA", 3, 1, build_number=7)
    with pytest.raises(ResourceNotFound, match=r"Could not find build \[7\]"):
        registry.put_vocabulary("m", VocabularyRecord(["a"], None, None), build_number=7)


def test_a_refused_definition_fails_the_build_which_then_takes_nothing_more(registry: ModelRegistry) -> None:
    registry.create_build("m", None, None)
    registry.put_definition_part("m", 0, base64.b64encode(b"ab").decode(), 4, 2, build_number=2)
    with pytest.raises(BadRequest, match=r"was refused: .*build \[2\] failed"):
        registry.put_definition_part("m", 1, base64.b64encode(b"cd").decode(), 4, 2, build_number=2)
    build = registry.get_build("m", 2)
    assert build.state == "failed" and build.failure_reason and "TorchScript" in build.failure_reason
    with pytest.raises(BadRequest, match=r"failed .* takes no more definition parts or vocabulary; create a new"):
        registry.put_definition_part("m", 1, base64.b64encode(b"cd").decode(), 4, 2, build_number=2)
    with pytest.raises(BadRequest, match="create a new build"):
        registry.put_vocabulary("m", VocabularyRecord(["a"], None, None), build_number=2)
    assert registry.get_model("m").build.build_number == 1  # nothing ready: the oldest (Elasticsearch's) is shown


def test_the_default_build_is_the_newest_ready_unless_set(registry: ModelRegistry, store: ModelStore) -> None:
    fill(store, 1)
    registry.create_build("m", config({"text_classification": {"classification_labels": ["x", "y"]}}), None)
    assert registry.get_model("m").build.build_number == 1  # build 2 still uploading
    with pytest.raises(BadRequest, match=r"build \[2\] of model \[m\] is \[uploading\]; only a \[ready\] build"):
        registry.set_default_build("m", 2)
    fill(store, 2)
    assert registry.get_model("m").build.build_number == 2
    registry.set_default_build("m", 1)
    assert registry.get_model("m").build.build_number == 1
    with pytest.raises(ResourceNotFound):
        registry.set_default_build("m", 3)


def test_deployable_takes_the_default_or_a_ready_named_build(registry: ModelRegistry, store: ModelStore) -> None:
    with pytest.raises(ResourceNotFound, match=r"^Could not find trained model definition \[m\]$"):
        registry.deployable("m")
    fill(store, 1)
    registry.create_build("m", config({"text_classification": {"classification_labels": ["x", "y"]}}), None)
    with pytest.raises(BadRequest, match=r"is \[uploading\]; only a \[ready\] build can be deployed"):
        registry.deployable("m", 2)
    with pytest.raises(ResourceNotFound, match=r"Could not find build \[3\]"):
        registry.deployable("m", 3)
    assert registry.deployable("m").build.build_number == 1
    fill(store, 2)
    deployable = registry.deployable("m")
    assert deployable.build.build_number == 2 and deployable.model.build is deployable.build
    assert deployable.definition_path.read_bytes() == DATA
    assert registry.deployable("m", 1).build.config["inference_config"] == LABELS | {
        "text_classification": registry.get_build("m", 1).config["inference_config"]["text_classification"]}


def test_a_build_in_use_or_the_only_one_is_not_deleted(registry: ModelRegistry, store: ModelStore) -> None:
    with pytest.raises(BadRequest, match=r"the model's only build; delete the model instead"):
        registry.delete_build("m", 1, in_use=())
    fill(store, 1)
    registry.create_build("m", None, None)
    fill(store, 2)
    registry.set_default_build("m", 2)
    with pytest.raises(StatusConflict, match=r"as deployments \[a, b\] use it"):
        registry.delete_build("m", 2, in_use=("b", "a"))
    registry.delete_build("m", 2, in_use=())
    model = registry.get_model("m")
    assert [b.build_number for b in model.builds] == [1] and model.default_build_pinned is None
    with pytest.raises(ResourceNotFound, match=r"Could not find build \[2\]"):
        registry.delete_build("m", 2, in_use=())
