"""A build's definition as a file a worker can `torch.jit.load`: written once from the stored parts.

Files are named by the definition's SHA-256, written to a temporary name and renamed, so a crash never
leaves a half-written file under a real name, and builds with the same bytes share one file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from inferd.errors import InferdError
from inferd.store import BuildRecord, ModelStore


def definition_file(store: ModelStore, build: BuildRecord, directory: Path) -> Path:
    """The path of the build's definition, written from the store unless already there."""
    assert build.definition_sha256 is not None, "only complete builds are deployed"
    path = directory / f"{build.definition_sha256}.pt"
    if path.exists() and path.stat().st_size == build.total_definition_length:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    scratch = directory / f".{uuid.uuid4().hex}.tmp"
    digest = hashlib.sha256()
    try:
        with scratch.open("wb") as out:
            parts = sorted(store.list_parts(build.model_id, build.build_number))
            for _, data in store.iter_part_data(build.model_id, build.build_number, parts):
                digest.update(data)
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != build.definition_sha256:
            raise InferdError(f"the stored definition of model [{build.model_id}] does not match its SHA-256")
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
    return path
