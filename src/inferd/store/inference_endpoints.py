"""The inference endpoint repository: each write one transaction."""

from __future__ import annotations

import builtins

import sqlalchemy as sa

from inferd.store.records import EndpointRecord
from inferd.store.tables import inference_endpoints


class EndpointStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def save(self, record: EndpointRecord) -> None:
        """Store the endpoint, replacing one of the same id (an update of its settings)."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(inference_endpoints)
                               .where(inference_endpoints.c.inference_id == record.inference_id))
            connection.execute(sa.insert(inference_endpoints).values(
                inference_id=record.inference_id, task_type=record.task_type, service=record.service,
                config=record.config, deployment_id=record.deployment_id,
                started_deployment=record.started_deployment, create_time_ms=record.create_time_ms))

    def delete(self, inference_id: str) -> bool:
        with self._engine.begin() as connection:
            deleted = connection.execute(sa.delete(inference_endpoints)
                                         .where(inference_endpoints.c.inference_id == inference_id)).rowcount
        return bool(deleted)

    def list(self) -> builtins.list[EndpointRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(inference_endpoints)
                                      .order_by(inference_endpoints.c.inference_id)).all()
        return [EndpointRecord(row.inference_id, row.task_type, row.service, dict(row.config), row.deployment_id,
                               bool(row.started_deployment), row.create_time_ms) for row in rows]

