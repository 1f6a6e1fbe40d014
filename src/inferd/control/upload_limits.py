"""Bounds on what a model upload may hold: definition size, parts, part size, vocabulary size and entries.

Each is a `Settings` field; `create_app` builds one `UploadLimits` and hands it to the registry, and the OpenAPI
description states the same bounds. Breaking one is Elasticsearch's request validation failure (400
`action_request_validation_exception`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from inferd.errors import ValidationFailed

if TYPE_CHECKING:
    from inferd.settings import Settings
    from inferd.store import VocabularyRecord

MAX_PARTS = 10_000
"""Elasticsearch's MAX_NUM_NATIVE_DEFINITION_PARTS."""


@dataclass(frozen=True)
class UploadLimits:
    max_definition_bytes: int = 4 * 1024**3
    max_definition_parts: int = MAX_PARTS
    max_definition_part_bytes: int = 64 * 1024**2
    max_vocabulary_size: int = 1_000_000
    max_vocabulary_entry_chars: int = 1_000
    check_timeout_s: float = 120.0
    check_memory_bytes: int = 2 * 1024**3

    @classmethod
    def of(cls, settings: Settings) -> UploadLimits:
        return cls(
            max_definition_bytes=settings.max_definition_bytes,
            max_definition_parts=settings.max_definition_parts,
            max_definition_part_bytes=settings.max_definition_part_bytes,
            max_vocabulary_size=settings.max_vocabulary_size,
            max_vocabulary_entry_chars=settings.max_vocabulary_entry_chars,
            check_timeout_s=settings.definition_check_timeout_s,
            check_memory_bytes=settings.definition_check_memory_bytes,
        )

    def check_part_size(self, length: int) -> None:
        if length > self.max_definition_part_bytes:
            raise ValidationFailed(
                [f"[definition] must be at most [{self.max_definition_part_bytes}] bytes once decoded; this part "
                 f"has [{length}] (max_definition_part_bytes)"]
            )

    def check_vocabulary(self, vocabulary: VocabularyRecord) -> None:
        problems = []
        for name in ("vocabulary", "merges", "scores"):
            entries = getattr(vocabulary, name) or []
            if len(entries) > self.max_vocabulary_size:
                problems.append(
                    f"[{name}] must have at most [{self.max_vocabulary_size}] entries; found [{len(entries)}] "
                    "(max_vocabulary_size)"
                )
            elif name != "scores":
                longest = max(range(len(entries)), key=lambda i: len(entries[i]), default=None)
                if longest is not None and len(entries[longest]) > self.max_vocabulary_entry_chars:
                    problems.append(
                        f"[{name}] entry [{longest}] has [{len(entries[longest])}] characters, more than the "
                        f"[{self.max_vocabulary_entry_chars}] allowed (max_vocabulary_entry_chars)"
                    )
        if problems:
            raise ValidationFailed(problems)
