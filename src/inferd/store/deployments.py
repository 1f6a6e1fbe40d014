"""The deployment repository: the deployments that should be running, each written in one transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from inferd.store.records import DeploymentRecord
from inferd.store.tables import deployments


class DeploymentStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def save(self, record: DeploymentRecord) -> None:
        """Store a new deployment, replacing a stale row of the same id (one left by a restore that failed)."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(deployments).where(deployments.c.deployment_id == record.deployment_id))
            connection.execute(sa.insert(deployments).values(
                deployment_id=record.deployment_id, model_id=record.model_id, build_number=record.build_number,
                settings=record.settings, start_time_ms=record.start_time_ms,
            ))

    def update_settings(self, deployment_id: str, settings: dict[str, Any]) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(deployments).where(deployments.c.deployment_id == deployment_id).values(settings=settings)
            )

    def delete(self, *deployment_ids: str) -> None:
        """Delete these deployments in one transaction; ids not stored are ignored."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(deployments).where(deployments.c.deployment_id.in_(deployment_ids)))

    def list(self) -> list[DeploymentRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(deployments).order_by(deployments.c.deployment_id)).all()
        return [DeploymentRecord(row.deployment_id, row.model_id, row.build_number, dict(row.settings),
                                 row.start_time_ms) for row in rows]
