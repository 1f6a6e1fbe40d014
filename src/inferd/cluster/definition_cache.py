"""A node's copy of the model definitions its workers load, each kept under its SHA-256.

A definition reaches a node once per build: a worker started for a build the node already holds reads the file
the first one left, and only a node without it fetches the bytes (from Ray's object store). A file has its name
only once its bytes are whole and their digest checked, so a crash mid-write leaves nothing a worker would load.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from inferd.runtime.remote_worker import definition_file


class DefinitionMismatch(ValueError):
    """The bytes fetched for a definition do not have its SHA-256."""


def cached_definition(directory: Path, sha256: str, fetch: Callable[[], bytes]) -> Path:
    """The definition with this SHA-256 on this node: the cached file, or `fetch()`ed, checked and stored first."""
    path = definition_file(directory, sha256)
    if path.is_file():
        return path
    data = fetch()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise DefinitionMismatch(f"the definition fetched for [{sha256}] has SHA-256 [{actual}]")
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=directory, prefix=f".{sha256}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)  # workers starting beside this one may write it too: the same bytes either way
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path
