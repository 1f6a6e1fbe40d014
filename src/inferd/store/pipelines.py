"""The ingest pipeline repository: each write one transaction."""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa

from inferd.store.records import PipelineRecord
from inferd.store.tables import ingest_pipelines


class PipelineStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def save(self, pipeline_id: str, definition: dict[str, Any], now_ms: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(ingest_pipelines).where(ingest_pipelines.c.pipeline_id == pipeline_id))
            connection.execute(sa.insert(ingest_pipelines).values(
                pipeline_id=pipeline_id, definition=definition, update_time_ms=now_ms))

    def delete(self, *pipeline_ids: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(ingest_pipelines).where(ingest_pipelines.c.pipeline_id.in_(pipeline_ids)))

    def list(self) -> builtins.list[PipelineRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(ingest_pipelines).order_by(ingest_pipelines.c.pipeline_id)).all()
        return [PipelineRecord(row.pipeline_id, dict(row.definition), row.update_time_ms) for row in rows]
