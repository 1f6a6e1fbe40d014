"""What a model upload may hold: definition size, parts, part size, vocabulary entries."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from inferd.clock import SystemClock
from inferd.control import ModelRegistry
from inferd.control.definitions import validate_part_request
from inferd.control.upload_limits import UploadLimits
from inferd.errors import ValidationFailed
from inferd.store import ModelStore, VocabularyRecord, open_store

LIMITS = UploadLimits(
    max_definition_bytes=1000, max_definition_parts=4, max_definition_part_bytes=100, max_vocabulary_size=5,
    max_vocabulary_entry_chars=8,
)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    store = ModelStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    store.create_model("m", {"model_type": "pytorch"}, now_ms=1)
    return ModelRegistry(store, SystemClock(), tmp_path, LIMITS)


def test_definition_totals_are_bounded_in_elasticsearchs_validation_message() -> None:
    validate_part_request(0, 1000, 4, LIMITS)
    with pytest.raises(ValidationFailed) as refused:
        validate_part_request(0, 1001, 5, LIMITS)
    assert refused.value.reason == (
        "Validation Failed: 1: [total_parts] must be less than or equal to 4;"
        "2: [total_definition_length] must be less than or equal to 1000 (max_definition_bytes);"
    )


def test_the_defaults_keep_elasticsearchs_part_limit() -> None:
    with pytest.raises(ValidationFailed, match=r"\[total_parts\] must be less than or equal to 10000;"):
        validate_part_request(0, 10, 10_001)


def test_a_part_larger_than_the_limit_is_refused_and_nothing_stored(registry: ModelRegistry) -> None:
    with pytest.raises(ValidationFailed) as refused:
        registry.put_definition_part("m", 0, base64.b64encode(b"x" * 101).decode(), 1000, 4)
    assert "[definition] must be at most [100] bytes once decoded; this part has [101]" in refused.value.reason
    assert registry.get_model("m").build.stored_parts == 0
    registry.put_definition_part("m", 0, base64.b64encode(b"x" * 100).decode(), 1000, 4)
    assert registry.get_model("m").build.stored_parts == 1


def test_vocabulary_size_and_entries_are_bounded(registry: ModelRegistry) -> None:
    with pytest.raises(ValidationFailed) as refused:
        registry.put_vocabulary("m", VocabularyRecord(["a"] * 6, ["a b", "x" * 9], [0.0] * 6))
    assert refused.value.reason == (
        "Validation Failed: 1: [vocabulary] must have at most [5] entries; found [6] (max_vocabulary_size);"
        "2: [merges] entry [1] has [9] characters, more than the [8] allowed (max_vocabulary_entry_chars);"
        "3: [scores] must have at most [5] entries; found [6] (max_vocabulary_size);"
    )
    registry.put_vocabulary("m", VocabularyRecord(["[PAD]", "x" * 8], None, None))
