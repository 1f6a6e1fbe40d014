"""Facts about this installation that must stay stable across restarts, such as its cluster UUID."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from inferd.store.tables import cluster_info


def ensure_cluster_uuid(engine: sa.Engine) -> str:
    """Return the data dir's cluster UUID, creating it on first start (Elasticsearch's 22-char URL-safe form)."""
    with engine.begin() as connection:
        value = connection.scalar(sa.select(cluster_info.c.value).where(cluster_info.c.key == "cluster_uuid"))
        if value is None:
            value = secrets.token_urlsafe(16)[:22]
            connection.execute(sa.insert(cluster_info).values(key="cluster_uuid", value=value))
        return value
