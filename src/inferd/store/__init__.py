"""Persistence: the only package that speaks SQL. Repositories return frozen records, never ORM rows."""

from inferd.store.database import open_store
from inferd.store.deployments import DeploymentStore
from inferd.store.lock import DataDirLock
from inferd.store.models import ModelStore
from inferd.store.records import BuildRecord, DeploymentRecord, ModelExists, ModelRecord, PartRecord, VocabularyRecord

__all__ = [
    "BuildRecord",
    "DataDirLock",
    "DeploymentRecord",
    "DeploymentStore",
    "ModelExists",
    "ModelRecord",
    "ModelStore",
    "PartRecord",
    "VocabularyRecord",
    "open_store",
]
