"""Cutting a definition into parts, streamed, and uploading in eland's order with the official client."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from inferd.importer import (
    DEFAULT_CHUNK_SIZE,
    ModelExists,
    ModelImportError,
    connect,
    count_parts,
    iter_definition_parts,
    upload_model,
)
from inferd.importer import upload as upload_module
from tests.support.models import TestModel, make_test_model, upload_test_model
from tests.unit.importer.conftest import FakeElasticsearch


def random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(("size", "parts"), [(1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3), (3000, 3)])
def test_parts_cover_the_file_exactly(tmp_path: Path, size: int, parts: int) -> None:
    data = random_file(tmp_path / "model.pt", size)
    result = list(iter_definition_parts(tmp_path / "model.pt", chunk_size=1000))
    assert [part.part for part in result] == list(range(parts))
    assert {(part.total_parts, part.total_definition_length) for part in result} == {(parts, size)}
    decoded = [base64.b64decode(part.definition) for part in result]
    assert all(len(chunk) == 1000 for chunk in decoded[:-1]) and 0 < len(decoded[-1]) <= 1000
    assert b"".join(decoded) == data


def test_parts_are_read_one_chunk_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    random_file(tmp_path / "model.pt", 4500)
    reads: list[int] = []

    class SpyFile:
        def __init__(self, file: IO[bytes]) -> None:
            self.file = file

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return self.file.read(size)

        def __enter__(self) -> SpyFile:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

    monkeypatch.setattr(upload_module, "open", lambda path, mode: SpyFile(open(path, mode)), raising=False)
    parts = iter_definition_parts(tmp_path / "model.pt", chunk_size=1000)
    assert reads == []  # lazy: nothing read before the first part is asked for
    next(parts)
    assert reads == [1000]
    assert len(list(parts)) == 4
    assert reads == [1000] * 5 and all(0 < size <= 1000 for size in reads)


def test_part_counts_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    assert DEFAULT_CHUNK_SIZE == 1024 * 1024
    assert count_parts(10_000 * DEFAULT_CHUNK_SIZE) == 10_000
    with pytest.raises(ModelImportError, match="at most 10000"):
        count_parts(10_000 * DEFAULT_CHUNK_SIZE + 1)
    (tmp_path / "empty.pt").touch()
    with pytest.raises(ModelImportError, match="empty"):
        list(iter_definition_parts(tmp_path / "empty.pt"))
    with pytest.raises(ValueError, match="positive"):
        count_parts(10, chunk_size=0)


def test_upload_is_config_then_parts_then_vocabulary(
    tmp_path: Path, fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]
) -> None:
    model = model_of("echo")
    upload_test_model(connect(fake_es.url), "tiny-echo", model, chunk_size=1000)
    parts = count_parts(model.size_bytes, 1000)
    assert parts >= 3
    assert fake_es.calls() == [
        "GET /_ml/trained_models/tiny-echo",
        "PUT /_ml/trained_models/tiny-echo",
        *[f"PUT /_ml/trained_models/tiny-echo/definition/{part}" for part in range(parts)],
        "PUT /_ml/trained_models/tiny-echo/vocabulary",
    ]
    config, *definition, vocabulary = [request.body for request in fake_es.requests[1:]]
    assert config == model.config
    assert vocabulary == model.vocabulary
    totals = {(body["total_parts"], body["total_definition_length"]) for body in definition}
    assert totals == {(parts, model.size_bytes)}
    assert b"".join(base64.b64decode(body["definition"]) for body in definition) == model.definition_path.read_bytes()


def test_default_chunks_are_one_mebibyte(tmp_path: Path, fake_es: FakeElasticsearch) -> None:
    model = make_test_model("echo", tmp_path, extra_bytes=2 * DEFAULT_CHUNK_SIZE + 100)
    upload_test_model(connect(fake_es.url), "big-echo", model)
    definition = [request.body for request in fake_es.requests if "/definition/" in request.path]
    assert [len(base64.b64decode(body["definition"])) for body in definition[:2]] == [DEFAULT_CHUNK_SIZE] * 2
    assert len(definition) == 3 and definition[0]["total_parts"] == 3


def test_an_existing_model_is_refused_without_clear_previous(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]
) -> None:
    fake_es.existing.add("taken")
    with pytest.raises(ModelExists, match=r"\[taken\] already exists"):
        upload_test_model(connect(fake_es.url), "taken", model_of("echo"))
    assert fake_es.calls() == ["GET /_ml/trained_models/taken"]


@pytest.mark.parametrize("stop_status", [200, 404, 409])
def test_clear_previous_stops_ignoring_errors_then_deletes(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel], stop_status: int
) -> None:
    fake_es.existing.add("again")
    fake_es.stop_status = stop_status
    model = model_of("echo")
    client = connect(fake_es.url)
    upload_model(client, "again", model.definition_path, model.config, model.vocabulary, clear_previous=True)
    calls = fake_es.calls()
    assert calls[:4] == [
        "GET /_ml/trained_models/again",
        "POST /_ml/trained_models/again/deployment/_stop",
        "DELETE /_ml/trained_models/again",
        "PUT /_ml/trained_models/again",
    ]
    assert calls[-1] == "PUT /_ml/trained_models/again/vocabulary"


def test_uploads_send_the_api_key(fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]) -> None:
    upload_test_model(connect(fake_es.url, api_key="c2VjcmV0"), "keyed", model_of("echo"))
    assert {request.authorization for request in fake_es.requests} == {"ApiKey c2VjcmV0"}
