"""Frozen records the store hands out: plain values, safe to keep after the transaction ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class ModelExists(Exception):
    """Another writer created the model first (possible with several servers on one PostgreSQL)."""


UPLOADING = "uploading"
READY = "ready"
FAILED = "failed"


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
    comment: str | None = None
    failure_reason: str | None = None
    """Why its definition was refused; a failed build takes no more parts or vocabulary."""

    @property
    def fully_defined(self) -> bool:
        """Every part is stored and the checked, hashed definition has the announced length."""
        return self.definition_sha256 is not None

    @property
    def state(self) -> str:
        """`failed` (definition refused), `ready` (definition and vocabulary complete) or `uploading`."""
        if self.failure_reason is not None:
            return FAILED
        if self.fully_defined and self.has_vocabulary:
            return READY
        return UPLOADING


def default_build(builds: Sequence[BuildRecord], pinned: int | None) -> BuildRecord:
    """The pinned build if it exists, else the newest ready one, else the oldest (`builds` newest first): until a
    build is ready, Elasticsearch's API goes on showing the one its own upload is filling."""
    by_number = {build.build_number: build for build in builds}
    if pinned in by_number:
        return by_number[pinned]
    return next((build for build in builds if build.state == READY), builds[-1])


@dataclass(frozen=True)
class ModelRecord:
    model_id: str
    create_time_ms: int
    build: BuildRecord
    """The build Elasticsearch's API shows and deploys (`default_build` of `builds`), or the one a caller chose."""
    aliases: tuple[str, ...]
    builds: tuple[BuildRecord, ...] = ()
    """Every build, newest first."""
    default_build_pinned: int | None = None
    """The default the user set; None: the newest ready build is the default."""


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
    status: str = "active"
    """`active` (restored at start-up) or `stopped` (kept, to be started again)."""
    stop_time_ms: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened to a deployment; `entry_id` is None until stored."""

    deployment_id: str
    model_id: str
    time_ms: int
    action: str
    actor: str
    build_before: int | None
    build_after: int | None
    settings_before: dict[str, Any] | None
    settings_after: dict[str, Any] | None
    outcome: str
    """`in_progress`, `succeeded`, `failed` or `interrupted`."""
    reason: str | None = None
    end_time_ms: int | None = None
    entry_id: int | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    name: str
    salt: str
    secret_hash: str
    creation_ms: int
    expiration_ms: int | None
    invalidation_ms: int | None
    username: str
    realm: str
    realm_type: str
    privileges: tuple[str, ...]
    role_descriptors: dict[str, Any]
    limited_by: tuple[str, ...]
    """The creator's privileges when the key was made."""
    metadata: dict[str, Any]

    @property
    def invalidated(self) -> bool:
        return self.invalidation_ms is not None

    def expired(self, now_ms: int) -> bool:
        return self.expiration_ms is not None and now_ms >= self.expiration_ms


@dataclass(frozen=True)
class UserRecord:
    username: str
    password_hash: str
    roles: tuple[str, ...]
    full_name: str | None
    email: str | None
    metadata: dict[str, Any]
    enabled: bool


@dataclass(frozen=True)
class EndpointRecord:
    """An inference endpoint: its task, service and settings as given, and the deployment it serves through."""

    inference_id: str
    task_type: str
    service: str
    config: dict[str, Any]
    deployment_id: str
    started_deployment: bool
    create_time_ms: int


@dataclass(frozen=True)
class PipelineRecord:
    pipeline_id: str
    definition: dict[str, Any]
    update_time_ms: int
