"""One server per data dir: a second `inferd serve` on the same directory fails fast instead of corrupting it."""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

from inferd.errors import StoreBusy


class DataDirLock:
    """An OS file lock on `<data_dir>/inferd.lock`, released by the kernel if the holder dies."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "inferd.lock"
        self._lock = FileLock(str(self.path), timeout=0)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreBusy(f"data dir [{self.path.parent}] is in use by another inferd server") from None
        (self.path.parent / "inferd.pid").write_text(str(os.getpid()))

    def release(self) -> None:
        self._lock.release()
