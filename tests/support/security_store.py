"""A real migrated SQLite security store that counts its key reads, so tests see when a cache answered."""

from __future__ import annotations

from pathlib import Path

from inferd.store import ApiKeyRecord, SecurityStore, open_store


class CountingStore(SecurityStore):
    def __init__(self, path: Path) -> None:
        super().__init__(open_store(f"sqlite:///{path / 'inferd.db'}"))
        self.reads = 0

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        self.reads += 1
        return super().get_key(key_id)
