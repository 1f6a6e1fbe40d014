"""The deployment repository: each deployment's desired state and its history, each change one transaction.

A change and the history entry that records it are written together, so after a crash the history never
claims what the deployments table does not hold (a rollout still `in_progress` at start-up was interrupted:
its deployment kept the build and settings it had before).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from inferd.store.records import DeploymentRecord, HistoryEntry
from inferd.store.tables import deployment_history, deployments

ACTIVE = "active"
STOPPED = "stopped"
IN_PROGRESS = "in_progress"


class DeploymentStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # --- deployments ---------------------------------------------------------------------------

    def save(self, record: DeploymentRecord, entry: HistoryEntry | None = None) -> int | None:
        """Store a deployment as active, replacing any row of the same id (a stopped one, or one left by a restore
        that failed), with the history entry that records it; returns the entry's id."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(deployments).where(deployments.c.deployment_id == record.deployment_id))
            connection.execute(sa.insert(deployments).values(
                deployment_id=record.deployment_id, model_id=record.model_id, build_number=record.build_number,
                settings=record.settings, start_time_ms=record.start_time_ms, status=ACTIVE, stop_time_ms=None,
            ))
            return _add(connection, entry)

    def update(self, deployment_id: str, *, settings: dict[str, Any], build_number: int | None = None,
               entry: HistoryEntry | None = None, finish: HistoryEntry | None = None) -> int | None:
        """Change an active deployment's settings (and build), recording a new entry or finishing a stored one."""
        values: dict[str, Any] = {"settings": settings}
        if build_number is not None:
            values["build_number"] = build_number
        with self._engine.begin() as connection:
            connection.execute(sa.update(deployments).where(deployments.c.deployment_id == deployment_id)
                               .values(**values))
            if finish is not None:
                _finish(connection, finish)
            return _add(connection, entry)

    def stop(self, deployment_ids: Sequence[str], entries: Sequence[HistoryEntry], now_ms: int) -> None:
        """Mark these deployments stopped, with their history entries, in one transaction."""
        with self._engine.begin() as connection:
            connection.execute(sa.update(deployments).where(deployments.c.deployment_id.in_(deployment_ids))
                               .values(status=STOPPED, stop_time_ms=now_ms))
            for entry in entries:
                _add(connection, entry)

    def delete(self, *deployment_ids: str) -> None:
        """Forget these deployments (their history stays); ids not stored are ignored."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(deployments).where(deployments.c.deployment_id.in_(deployment_ids)))

    def delete_of_model(self, model_id: str) -> None:
        """Forget the stopped deployments of a deleted model: they could never start again."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(deployments).where(deployments.c.model_id == model_id,
                                                            deployments.c.status == STOPPED))

    def list(self, *, include_stopped: bool = False) -> list[DeploymentRecord]:
        """The active deployments (what a restarted server starts again), or all of them, by id."""
        query = sa.select(deployments).order_by(deployments.c.deployment_id)
        if not include_stopped:
            query = query.where(deployments.c.status == ACTIVE)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_record(row) for row in rows]

    def get(self, deployment_id: str) -> DeploymentRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(deployments).where(deployments.c.deployment_id == deployment_id)).first()
        return None if row is None else _record(row)

    # --- history -------------------------------------------------------------------------------

    def add_history(self, entry: HistoryEntry) -> int:
        with self._engine.begin() as connection:
            entry_id = _add(connection, entry)
        assert entry_id is not None
        return entry_id

    def finish_history(self, entry: HistoryEntry) -> None:
        """Write a stored entry's outcome, reason and end time."""
        with self._engine.begin() as connection:
            _finish(connection, entry)

    def history(self, deployment_id: str, limit: int = 100) -> builtins.list[HistoryEntry]:
        """The deployment's entries, newest first."""
        query = (sa.select(deployment_history).where(deployment_history.c.deployment_id == deployment_id)
                 .order_by(deployment_history.c.entry_id.desc()).limit(limit))
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [HistoryEntry(**{field.name: row[field.name] for field in dataclasses.fields(HistoryEntry)})
                for row in rows]

    def interrupt_unfinished(self, now_ms: int, reason: str) -> int:
        """Mark every entry still in progress interrupted (at start-up: the server stopped during it)."""
        with self._engine.begin() as connection:
            return connection.execute(
                sa.update(deployment_history).where(deployment_history.c.outcome == IN_PROGRESS)
                .values(outcome="interrupted", reason=reason, end_time_ms=now_ms)).rowcount


def _record(row: Any) -> DeploymentRecord:
    return DeploymentRecord(row.deployment_id, row.model_id, row.build_number, dict(row.settings), row.start_time_ms,
                            row.status, row.stop_time_ms)


def _add(connection: sa.Connection, entry: HistoryEntry | None) -> int | None:
    if entry is None:
        return None
    values = dataclasses.asdict(entry)
    values.pop("entry_id")
    key = connection.execute(sa.insert(deployment_history).values(**values)).inserted_primary_key
    assert key is not None  # an insert into a table with a primary key
    return int(key[0])


def _finish(connection: sa.Connection, entry: HistoryEntry) -> None:
    assert entry.entry_id is not None, "only a stored entry can be finished"
    connection.execute(sa.update(deployment_history).where(deployment_history.c.entry_id == entry.entry_id)
                       .values(outcome=entry.outcome, reason=entry.reason, end_time_ms=entry.end_time_ms))
