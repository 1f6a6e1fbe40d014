"""Receiving a model definition in parts: validation, idempotent re-sends, and completing a build.

A part is stored in one transaction with the build's totals. The part that completes the definition is
stored only after the assembled bytes were counted, hashed and checked as TorchScript in a child process;
until then the build stays incomplete, so no reader ever sees a half-checked definition. A definition the
check refuses fails its build, with the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import uuid
from pathlib import Path

from inferd.control.definition_check import DefinitionRejected, check_definition
from inferd.control.upload_limits import UploadLimits
from inferd.errors import (
    BadRequest,
    IllegalArgument,
    ParseError,
    ResourceAlreadyExists,
    TooManyRequests,
    ValidationFailed,
)
from inferd.store import BuildRecord, ModelStore, PartRecord

MAX_CONCURRENT_CHECKS = 2
DEFAULT_LIMITS = UploadLimits()


def validate_part_request(
    part: int, total_definition_length: int, total_parts: int, limits: UploadLimits = DEFAULT_LIMITS
) -> None:
    """Elasticsearch's PutTrainedModelDefinitionPartAction.Request#validate, in its order, with inferd's size bound."""
    problems = []
    if part < 0:
        problems.append("[part] must be greater or equal to 0")
    if total_parts <= 0:
        problems.append("[total_parts] must be greater than 0")
    if total_parts > limits.max_definition_parts:
        problems.append(f"[total_parts] must be less than or equal to {limits.max_definition_parts}")
    if total_definition_length <= 0:
        problems.append("[total_definition_length] must be greater than 0")
    if total_definition_length > limits.max_definition_bytes:
        problems.append(
            f"[total_definition_length] must be less than or equal to {limits.max_definition_bytes} "
            "(max_definition_bytes)"
        )
    if part >= total_parts:
        problems.append("[part] must be less than total_parts")
    if problems:
        raise ValidationFailed(problems)


def decode_definition(definition: str | None) -> bytes:
    if definition is None:
        raise IllegalArgument("[definition] must not be null.")
    try:
        return base64.b64decode(definition, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("[put_trained_model_part_action] failed to parse field [definition]: "
                         "it is not valid base64") from None


def checked_part(part: int, definition: str | None, total_definition_length: int, total_parts: int,
                 limits: UploadLimits = DEFAULT_LIMITS) -> bytes:
    """A part's bytes, once the request passed Elasticsearch's checks in its order and the part its size bound."""
    data = decode_definition(definition)
    validate_part_request(part, total_definition_length, total_parts, limits)
    limits.check_part_size(len(data))
    return data


class DefinitionAssembler:
    """Adds parts to a build and seals the build when the last one arrives."""

    def __init__(
        self, store: ModelStore, scratch_dir: Path, check_timeout_s: float, check_memory_bytes: int = 2 * 1024**3
    ) -> None:
        self._store = store
        self._scratch_dir = scratch_dir
        self._check_timeout_s = check_timeout_s
        self._check_memory_bytes = check_memory_bytes
        # Each check is a child process importing torch: a few at a time, the rest told to retry.
        self._checks = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)

    def add_part(
        self, build: BuildRecord, part: int, data: bytes, total_definition_length: int, total_parts: int
    ) -> None:
        model_id = build.model_id
        self._check_consistent(build, total_definition_length, total_parts)
        record = PartRecord(part, len(data), hashlib.sha256(data).hexdigest())
        stored = self._store.list_parts(model_id, build.build_number)
        if part in stored:
            if stored[part].sha256 != record.sha256:
                raise ResourceAlreadyExists(
                    f"Trained machine learning model chunked doc [{model_id}][{part:,}] already exists"
                )
            return  # the same part again: a client retrying after a lost acknowledgement
        stored_bytes = sum(existing.length for existing in stored.values()) + record.length
        if stored_bytes > total_definition_length:
            raise BadRequest(
                f"the definition parts of model [{model_id}] add up to [{stored_bytes}] bytes, more than "
                f"[total_definition_length] [{total_definition_length}]"
            )
        sha256 = None
        if len(stored) + 1 == total_parts:
            if stored_bytes != total_definition_length:
                raise BadRequest(
                    f"Model definition truncated. The [{total_parts}] parts of model [{model_id}] add up to "
                    f"[{stored_bytes}] bytes but [total_definition_length] is [{total_definition_length}]"
                )
            sha256 = self._assemble_and_check(build, total_parts, part, data)
        self._store.add_part(
            model_id,
            build.build_number,
            record,
            data,
            total_definition_length=total_definition_length,
            total_parts=total_parts,
            definition_sha256=sha256,
        )

    @staticmethod
    def _check_consistent(build: BuildRecord, total_definition_length: int, total_parts: int) -> None:
        """Every part must announce the same totals as the first one did."""
        for name, recorded, given in (
            ("total_definition_length", build.total_definition_length, total_definition_length),
            ("total_parts", build.total_parts, total_parts),
        ):
            if recorded is not None and recorded != given:
                raise BadRequest(
                    f"[{name}] [{given}] does not match the [{recorded}] recorded for model [{build.model_id}] "
                    "by its earlier definition parts"
                )

    def _assemble_and_check(self, build: BuildRecord, total_parts: int, new_part: int, new_data: bytes) -> str:
        """Write the whole definition to a scratch file part by part, hash it, and check it as TorchScript."""
        if not self._checks.acquire(blocking=False):
            raise TooManyRequests(
                f"[{MAX_CONCURRENT_CHECKS}] model definitions are being checked already; retry the last part of "
                f"model [{build.model_id}] shortly"
            )
        try:
            return self._assemble_and_check_now(build, total_parts, new_part, new_data)
        finally:
            self._checks.release()

    def _assemble_and_check_now(self, build: BuildRecord, total_parts: int, new_part: int, new_data: bytes) -> str:
        self._scratch_dir.mkdir(parents=True, exist_ok=True)
        path = self._scratch_dir / f"check-{uuid.uuid4().hex}.pt"
        digest = hashlib.sha256()
        try:
            with path.open("wb") as file:
                earlier = [index for index in range(total_parts) if index != new_part]
                parts = self._store.iter_part_data(build.model_id, build.build_number, earlier)
                for index in range(total_parts):
                    chunk = new_data if index == new_part else next(parts)[1]
                    digest.update(chunk)
                    file.write(chunk)
            check_definition(path, self._check_timeout_s, self._check_memory_bytes)
        except DefinitionRejected as rejection:
            # The definition can never load, so the build can never be ready: it fails, keeping the reason.
            self._store.fail_build(build.model_id, build.build_number, str(rejection))
            raise BadRequest(
                f"The definition of model [{build.model_id}] was refused: {rejection}. Nothing was stored for "
                f"this part, and build [{build.build_number}] failed: upload the definition to a new build"
            ) from None
        finally:
            path.unlink(missing_ok=True)
        return digest.hexdigest()
