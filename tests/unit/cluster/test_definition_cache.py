"""A node fetches a build's definition once, checks its SHA-256, and never leaves a partial file under its name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from inferd.cluster.definition_cache import DefinitionMismatch, cached_definition

DEFINITION = b"PK\x03\x04 a TorchScript archive, as far as the cache is concerned"
SHA256 = hashlib.sha256(DEFINITION).hexdigest()


def test_a_definition_is_fetched_once_per_node(tmp_path: Path) -> None:
    fetched: list[bytes] = []

    def fetch() -> bytes:
        fetched.append(DEFINITION)
        return DEFINITION

    first = cached_definition(tmp_path / "definitions", SHA256, fetch)
    second = cached_definition(tmp_path / "definitions", SHA256, fetch)
    assert first == second == tmp_path / "definitions" / f"{SHA256}.pt"
    assert first.read_bytes() == DEFINITION and len(fetched) == 1
    assert [path.name for path in (tmp_path / "definitions").iterdir()] == [f"{SHA256}.pt"]


def test_bytes_with_another_digest_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    with pytest.raises(DefinitionMismatch, match=f"fetched for \\[{SHA256}\\]"):
        cached_definition(tmp_path / "definitions", SHA256, lambda: DEFINITION + b"tampered")
    assert not (tmp_path / "definitions").exists() or not list((tmp_path / "definitions").iterdir())
