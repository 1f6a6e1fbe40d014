"""Completing a build: the check is bounded, and a refused completion stores nothing."""

from pathlib import Path

import pytest

from inferd.control.definitions import MAX_CONCURRENT_CHECKS, DefinitionAssembler
from inferd.errors import BadRequest, TooManyRequests
from inferd.store import ModelStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    store = ModelStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    store.create_model("m", {}, now_ms=1)
    return store


def build(store: ModelStore):  # type: ignore[no-untyped-def]
    model = store.get_model("m")
    assert model is not None
    return model.build


def test_completions_beyond_the_limit_are_told_to_retry(store: ModelStore, tmp_path: Path) -> None:
    assembler = DefinitionAssembler(store, tmp_path / "scratch", check_timeout_s=60)
    assembler.add_part(build(store), 0, b"ab", total_definition_length=4, total_parts=2)
    for _ in range(MAX_CONCURRENT_CHECKS):
        assert assembler._checks.acquire(blocking=False)  # checks in progress elsewhere
    with pytest.raises(TooManyRequests):
        assembler.add_part(build(store), 1, b"cd", total_definition_length=4, total_parts=2)
    assert sorted(store.list_parts("m", 1)) == [0]


def test_a_refused_completion_stores_nothing(store: ModelStore, tmp_path: Path) -> None:
    assembler = DefinitionAssembler(store, tmp_path / "scratch", check_timeout_s=60)
    assembler.add_part(build(store), 0, b"ab", total_definition_length=4, total_parts=2)
    with pytest.raises(BadRequest, match="not a TorchScript archive"):
        assembler.add_part(build(store), 1, b"cd", total_definition_length=4, total_parts=2)
    assert sorted(store.list_parts("m", 1)) == [0] and not build(store).fully_defined
    assert list((tmp_path / "scratch").iterdir()) == []
