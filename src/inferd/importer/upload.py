"""Upload a traced model through Elasticsearch's REST API, in eland's order, with the official client.

    put_trained_model (config) -> definition parts 0..n-1 -> put_trained_model_vocabulary

The definition is cut into raw chunks of 1 MiB, each base64-encoded into its own part carrying the
same `total_definition_length` (the file size) and `total_parts`. The file is streamed one chunk at
a time and never read whole, so a multi-gigabyte model uploads in constant memory.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from elasticsearch import ApiError, Elasticsearch

from inferd.importer.errors import ModelExists, ModelImportError

DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_PARTS = 10_000  # Elasticsearch's MAX_NUM_NATIVE_DEFINITION_PARTS
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DefinitionPart:
    """One `PUT _ml/trained_models/{id}/definition/{part}` body, with its part number."""

    part: int
    total_parts: int
    total_definition_length: int
    definition: str  # base64 of the raw chunk


def connect(
    url: str,
    *,
    api_key: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    ca_certs: Path | None = None,
    verify_certs: bool = True,
    request_timeout_s: float = 120.0,
) -> Elasticsearch:
    """A client for an inferd (or Elasticsearch) server; an API key wins over basic auth, as in eland.

    `ca_certs` verifies an https server against those certificates (a self-signed one's own, say) instead of
    the system's; `verify_certs=False` verifies nothing, and the client's per-request warning is left to the
    caller to say once.
    """
    options: dict[str, Any] = {"request_timeout": request_timeout_s}
    if api_key:
        options["api_key"] = api_key
    elif basic_auth is not None:
        options["basic_auth"] = basic_auth
    if ca_certs is not None:
        options["ca_certs"] = str(ca_certs)
    if not verify_certs:
        options.update(verify_certs=False, ssl_show_warn=False)
    return Elasticsearch(url, **options)


def count_parts(size_bytes: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """How many parts a definition of `size_bytes` is cut into; refuses what Elasticsearch would refuse."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    if size_bytes <= 0:
        raise ModelImportError("The model definition is empty")
    total_parts = math.ceil(size_bytes / chunk_size)
    if total_parts > MAX_PARTS:
        raise ModelImportError(f"The definition would take {total_parts} parts; at most {MAX_PARTS} are allowed")
    return total_parts


def iter_definition_parts(path: Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[DefinitionPart]:
    """The parts of the definition file, reading one chunk per part, lazily."""
    size = Path(path).stat().st_size
    total_parts = count_parts(size, chunk_size)
    with open(path, "rb") as file:
        yield from _parts_of(file, size, total_parts, chunk_size)


def _parts_of(file: BinaryIO, size: int, total_parts: int, chunk_size: int) -> Iterator[DefinitionPart]:
    for part in range(total_parts):
        chunk = file.read(chunk_size)
        if not chunk:
            raise ModelImportError(f"The definition file shrank while uploading: part {part} of {total_parts} is gone")
        yield DefinitionPart(part, total_parts, size, base64.b64encode(chunk).decode("ascii"))


def model_exists(client: Elasticsearch, model_id: str) -> bool:
    response = client.options(ignore_status=404).ml.get_trained_models(model_id=model_id)
    return response.meta.status != 404


def clear_model(client: Elasticsearch, model_id: str) -> None:
    """Stop the model's deployment (any error ignored: it may have none) and delete the model."""
    try:
        client.ml.stop_trained_model_deployment(model_id=model_id, force=True)
    except ApiError as error:
        _log.debug("stopping %s before deleting it failed, ignored: %s", model_id, error)
    client.options(ignore_status=404).ml.delete_trained_model(model_id=model_id, force=True)


def put_config(client: Elasticsearch, model_id: str, config: dict[str, Any]) -> None:
    client.ml.put_trained_model(model_id=model_id, body=config)


def put_definition(
    client: Elasticsearch,
    model_id: str,
    definition_path: Path,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_part: Callable[[DefinitionPart], None] | None = None,
) -> int:
    """Upload the definition part by part, from 0; returns the number of parts."""
    total = 0
    for part in iter_definition_parts(definition_path, chunk_size):
        client.ml.put_trained_model_definition_part(
            model_id=model_id,
            part=part.part,
            definition=part.definition,
            total_definition_length=part.total_definition_length,
            total_parts=part.total_parts,
        )
        total = part.total_parts
        if on_part is not None:
            on_part(part)
    return total


def put_vocabulary(client: Elasticsearch, model_id: str, vocabulary: dict[str, list[Any]]) -> None:
    client.ml.put_trained_model_vocabulary(model_id=model_id, body=vocabulary)


def upload_model(
    client: Elasticsearch,
    model_id: str,
    definition_path: Path,
    config: dict[str, Any],
    vocabulary: dict[str, list[Any]],
    *,
    clear_previous: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_part: Callable[[DefinitionPart], None] | None = None,
) -> None:
    """Config, then definition parts, then vocabulary. An existing model is replaced only with `clear_previous`."""
    count_parts(Path(definition_path).stat().st_size, chunk_size)  # refuse before creating anything
    if model_exists(client, model_id):
        if not clear_previous:
            raise ModelExists(model_id)
        clear_model(client, model_id)
    put_config(client, model_id, config)
    put_definition(client, model_id, definition_path, chunk_size=chunk_size, on_part=on_part)
    put_vocabulary(client, model_id, vocabulary)
    _log.info("uploaded model %s from %s", model_id, definition_path)
