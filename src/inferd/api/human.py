"""Elasticsearch's `?human` timestamps (byte sizes are `inferd.units.human_bytes`)."""

from __future__ import annotations

from datetime import UTC, datetime


def human_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
