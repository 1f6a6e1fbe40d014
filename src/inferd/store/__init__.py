"""Persistence: the only package that speaks SQL. Repositories return frozen records, never ORM rows."""

from inferd.store.database import open_store
from inferd.store.deployments import DeploymentStore
from inferd.store.lock import DataDirLock
from inferd.store.models import ModelStore
from inferd.store.records import (
    ApiKeyRecord,
    BuildRecord,
    DeploymentRecord,
    HistoryEntry,
    ModelExists,
    ModelRecord,
    PartRecord,
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
    "HistoryEntry",
    "ModelExists",
    "ModelRecord",
    "ModelStore",
    "PartRecord",
    "SecurityStore",
    "UserRecord",
    "VocabularyRecord",
    "open_store",
]
