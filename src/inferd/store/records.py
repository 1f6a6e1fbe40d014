"""Frozen records the store hands out: plain values, safe to keep after the transaction ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ModelExists(Exception):
    """Another writer created the model first (possible with several servers on one PostgreSQL)."""


@dataclass(frozen=True)
class BuildRecord:
    model_id: str
    build_number: int
    config: dict[str, Any]
    create_time_ms: int
    total_definition_length: int | None
    total_parts: int | None
    definition_sha256: str | None
    stored_parts: int
    stored_bytes: int
    has_vocabulary: bool

    @property
    def fully_defined(self) -> bool:
        """Every part is stored and the checked, hashed definition has the announced length."""
        return self.definition_sha256 is not None


@dataclass(frozen=True)
class ModelRecord:
    model_id: str
    create_time_ms: int
    build: BuildRecord
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class PartRecord:
    part: int
    length: int
    sha256: str


@dataclass(frozen=True)
class VocabularyRecord:
    vocabulary: list[str]
    merges: list[str] | None
    scores: list[float] | None


@dataclass(frozen=True)
class DeploymentRecord:
    deployment_id: str
    model_id: str
    build_number: int
    settings: dict[str, Any]
    """What the user asked for: allocations, threads, queue capacity, cache size, priority, batch limit, adaptive."""
    start_time_ms: int
