"""The repository against a real migrated SQLite file."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from inferd.store import ModelExists, ModelStore, PartRecord, VocabularyRecord, open_store
from inferd.store.records import FAILED, READY, UPLOADING
from inferd.store.cluster import ensure_cluster_uuid


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))


def test_migrations_are_idempotent_and_the_cluster_uuid_is_stable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inferd.db'}"
    first = ensure_cluster_uuid(open_store(url))
    engine = open_store(url)
    assert ensure_cluster_uuid(engine) == first and len(first) == 22
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0007"


def test_a_model_is_created_with_build_one(store: ModelStore) -> None:
    store.create_model("m", {"model_type": "pytorch"}, now_ms=5)
    model = store.get_model("m")
    assert model is not None and model.build.build_number == 1 and model.create_time_ms == 5
    assert not model.build.fully_defined and model.build.stored_parts == 0
    with pytest.raises(ModelExists):
        store.create_model("m", {}, now_ms=6)


def test_parts_totals_and_hash_are_written_together(store: ModelStore) -> None:
    store.create_model("m", {}, now_ms=1)
    store.add_part("m", 1, PartRecord(0, 3, "a" * 64), b"abc", total_definition_length=6, total_parts=2,
                   definition_sha256=None)
    store.add_part("m", 1, PartRecord(1, 3, "b" * 64), b"def", total_definition_length=6, total_parts=2,
                   definition_sha256="c" * 64)
    build = store.get_model("m").build  # type: ignore[union-attr]
    assert (build.stored_parts, build.stored_bytes, build.total_parts, build.fully_defined) == (2, 6, 2, True)
    assert list(store.iter_part_data("m", 1, [1, 0])) == [(1, b"def"), (0, b"abc")]
    with pytest.raises(sqlalchemy.exc.IntegrityError):  # the part exists: nothing of this write lands
        store.add_part("m", 1, PartRecord(1, 3, "d" * 64), b"xyz", total_definition_length=9, total_parts=3,
                       definition_sha256=None)
    assert store.get_model("m").build.total_parts == 2  # type: ignore[union-attr]


def test_delete_removes_everything_of_the_model(store: ModelStore) -> None:
    store.create_model("m", {}, now_ms=1)
    store.add_part("m", 1, PartRecord(0, 1, "a" * 64), b"a", total_definition_length=1, total_parts=1,
                   definition_sha256=None)
    store.put_vocabulary("m", 1, VocabularyRecord(["a"], None, None))
    store.set_alias("al", "m")
    assert store.delete_model("m") is True
    assert store.get_model("m") is None and store.get_alias("al") is None and store.list_parts("m", 1) == {}
    assert store.delete_model("m") is False


def complete(store: ModelStore, build_number: int, *, vocabulary: bool = True) -> None:
    store.add_part("m", build_number, PartRecord(0, 1, "a" * 64), b"a", total_definition_length=1, total_parts=1,
                   definition_sha256="f" * 64)
    if vocabulary:
        store.put_vocabulary("m", build_number, VocabularyRecord(["a"], None, None))


def test_builds_are_numbered_after_the_highest_and_listed_newest_first(store: ModelStore) -> None:
    store.create_model("m", {"v": 1}, now_ms=1)
    assert store.create_build("m", {"v": 2}, "retrained", now_ms=2) == 2
    assert store.create_build("m", {"v": 3}, None, now_ms=3) == 3
    assert store.create_build("missing", {}, None, now_ms=4) is None
    model = store.get_model("m")
    assert model is not None
    assert [(b.build_number, b.config, b.comment, b.create_time_ms) for b in model.builds] == [
        (3, {"v": 3}, None, 3), (2, {"v": 2}, "retrained", 2), (1, {"v": 1}, None, 1)]
    assert [b.state for b in model.builds] == [UPLOADING] * 3


def test_the_default_is_the_pinned_build_else_the_newest_ready_else_the_oldest(store: ModelStore) -> None:
    store.create_model("m", {}, now_ms=1)
    store.create_build("m", {}, None, now_ms=2)
    assert store.get_model("m").build.build_number == 1  # type: ignore[union-attr]  # nothing ready: the oldest
    complete(store, 1)
    assert store.get_model("m").build.build_number == 1  # type: ignore[union-attr]
    complete(store, 2, vocabulary=False)
    assert store.get_model("m").build.build_number == 1  # type: ignore[union-attr]  # 2 has no vocabulary yet
    store.put_vocabulary("m", 2, VocabularyRecord(["a"], None, None))
    model = store.get_model("m")
    assert model is not None and model.build.build_number == 2 and model.build.state == READY
    store.set_default_build("m", 1)
    model = store.get_model("m")
    assert model is not None and (model.build.build_number, model.default_build_pinned) == (1, 1)
    assert [m.build.build_number for m in store.list_models()] == [1]


def test_deleting_a_build_takes_its_parts_and_vocabulary_and_unpins_it(store: ModelStore) -> None:
    store.create_model("m", {}, now_ms=1)
    store.create_build("m", {}, None, now_ms=2)
    complete(store, 1)
    complete(store, 2)
    store.set_default_build("m", 2)
    assert store.delete_build("m", 2) is True and store.delete_build("m", 2) is False
    model = store.get_model("m")
    assert model is not None and model.default_build_pinned is None and model.build.build_number == 1
    assert [b.build_number for b in model.builds] == [1]
    assert store.list_parts("m", 2) == {} and store.get_vocabulary("m", 2) is None
    assert store.list_parts("m", 1) != {}
    # The deleted build's number is never given again: the history's build numbers keep meaning one build.
    assert store.create_build("m", {}, None, now_ms=3) == 3


def test_a_failed_build_keeps_its_reason(store: ModelStore) -> None:
    store.create_model("m", {}, now_ms=1)
    store.fail_build("m", 1, "not a TorchScript archive")
    build = store.get_model("m").build  # type: ignore[union-attr]
    assert (build.state, build.failure_reason) == (FAILED, "not a TorchScript archive")


def test_concurrent_creators_get_distinct_numbers(store: ModelStore) -> None:
    store.create_model("m", {}, now_ms=1)
    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(lambda i: store.create_build("m", {}, None, now_ms=i), range(12)))
    assert sorted(numbers) == list(range(2, 14))  # type: ignore[type-var]
