"""Elasticsearch's `?human` renderings: byte sizes such as `1.5kb` and ISO-8601 timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from inferd.units import human_bytes

__all__ = ["human_bytes", "human_time"]


def human_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
