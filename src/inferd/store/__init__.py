"""Persistence: the only package that speaks SQL. Repositories return frozen records, never ORM rows."""

from inferd.store.database import open_store
from inferd.store.deployments import DeploymentStore
from inferd.store.inference_endpoints import EndpointStore
from inferd.store.lock import DataDirLock
from inferd.store.models import ModelStore
from inferd.store.pipelines import PipelineStore
from inferd.store.records import (
    ApiKeyRecord,
    BuildRecord,
    DeploymentRecord,
    EndpointRecord,
    HistoryEntry,
    ModelExists,
    ModelRecord,
    PartRecord,
    PipelineRecord,
    UserRecord,
    VocabularyRecord,
)
from inferd.store.security import SecurityStore

__all__ = [
    "ApiKeyRecord",
    "BuildRecord",
    "DataDirLock",
    "DeploymentRecord",
    "DeploymentStore",
    "EndpointRecord",
    "EndpointStore",
    "HistoryEntry",
    "ModelExists",
    "ModelRecord",
    "ModelStore",
    "PartRecord",
    "PipelineRecord",
    "PipelineStore",
    "SecurityStore",
    "UserRecord",
    "VocabularyRecord",
    "open_store",
]
