"""The security repository: API keys and users, each write one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from inferd.store.records import ApiKeyRecord, UserRecord
from inferd.store.tables import api_keys, security_changes, users


def _key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id, name=row.name, salt=row.salt, secret_hash=row.secret_hash, creation_ms=row.creation_ms,
        expiration_ms=row.expiration_ms, invalidation_ms=row.invalidation_ms, username=row.username, realm=row.realm,
        realm_type=row.realm_type, privileges=tuple(row.privileges), role_descriptors=dict(row.role_descriptors),
        limited_by=tuple(row.limited_by), metadata=dict(row.metadata),
    )


def _count_change(connection: sa.Connection) -> None:
    connection.execute(sa.update(security_changes).values(count=security_changes.c.count + 1))


def _user(row: Any) -> UserRecord:
    return UserRecord(row.username, row.password_hash, tuple(row.roles), row.full_name, row.email, dict(row.metadata),
                      bool(row.enabled))


class SecurityStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # --- API keys ---------------------------------------------------------------------------------

    def add_key(self, record: ApiKeyRecord) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.insert(api_keys).values(
                key_id=record.key_id, name=record.name, salt=record.salt, secret_hash=record.secret_hash,
                creation_ms=record.creation_ms, expiration_ms=record.expiration_ms,
                invalidation_ms=record.invalidation_ms, username=record.username, realm=record.realm,
                realm_type=record.realm_type, privileges=list(record.privileges),
                role_descriptors=record.role_descriptors, limited_by=list(record.limited_by),
                metadata=record.metadata,
            ))

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def list_keys(self) -> list[ApiKeyRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(api_keys).order_by(api_keys.c.creation_ms, api_keys.c.key_id)).all()
        return [_key(row) for row in rows]

    def count_keys(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(api_keys)) or 0)

    def update_key(self, record: ApiKeyRecord) -> bool:
        """Write a key's descriptors, privileges, metadata and expiration, unless it was invalidated meanwhile."""
        with self._engine.begin() as connection:
            updated = connection.execute(
                sa.update(api_keys)
                .where(api_keys.c.key_id == record.key_id, api_keys.c.invalidation_ms.is_(None))
                .values(expiration_ms=record.expiration_ms, privileges=list(record.privileges),
                        role_descriptors=record.role_descriptors, limited_by=list(record.limited_by),
                        metadata=record.metadata)
            ).rowcount > 0
            if updated:
                _count_change(connection)
        return updated

    def count_changes(self) -> int:
        """Grows with every change to a stored key or user, by any process: how servers notice each other's."""
        with self._engine.connect() as connection:
            return int(connection.scalar(sa.select(security_changes.c.count)) or 0)

    def invalidate_keys(self, key_ids: Sequence[str], now_ms: int) -> list[str]:
        """Mark these keys invalidated in one transaction; returns those that were still valid."""
        if not key_ids:
            return []
        with self._engine.begin() as connection:
            valid = connection.execute(
                sa.select(api_keys.c.key_id).where(api_keys.c.key_id.in_(key_ids), api_keys.c.invalidation_ms.is_(None))
            ).scalars().all()
            if valid:
                connection.execute(
                    sa.update(api_keys).where(api_keys.c.key_id.in_(valid)).values(invalidation_ms=now_ms)
                )
                _count_change(connection)
        return list(valid)

    # --- users ------------------------------------------------------------------------------------

    def put_user(self, record: UserRecord) -> bool:
        """Create or replace a user; True when it was created."""
        with self._engine.begin() as connection:
            existed = connection.execute(
                sa.delete(users).where(users.c.username == record.username)
            ).rowcount > 0
            connection.execute(sa.insert(users).values(
                username=record.username, password_hash=record.password_hash, roles=list(record.roles),
                full_name=record.full_name, email=record.email, metadata=record.metadata, enabled=record.enabled,
            ))
            _count_change(connection)
        return not existed

    def get_user(self, username: str) -> UserRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(users).where(users.c.username == username)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[UserRecord]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(users).order_by(users.c.username)).all()
        return [_user(row) for row in rows]

    def delete_user(self, username: str) -> bool:
        with self._engine.begin() as connection:
            deleted = connection.execute(sa.delete(users).where(users.c.username == username)).rowcount > 0
            if deleted:
                _count_change(connection)
        return deleted

    def count_users(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(users)) or 0)
