"""Bodies of the model APIs (the model config itself lives in control/inference_config.py).

Elasticsearch's upload routes and inferd's build routes read definition parts and vocabularies with the same
functions, so both answer the same messages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from inferd.api.body import parse_body
from inferd.store import VocabularyRecord

# The store keeps lengths as 64-bit integers.
MAX_DEFINITION_LENGTH = 2**63 - 1

Part = Annotated[int, Path(le=MAX_DEFINITION_LENGTH)]
"""A definition part's number in the path."""


class DefinitionPartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: str | None = None
    total_definition_length: int = Field(0, le=MAX_DEFINITION_LENGTH)
    total_parts: int = Field(0, le=MAX_DEFINITION_LENGTH)


class VocabularyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocabulary: list[str] | None = None
    merges: list[str] | None = None
    scores: list[float] | None = None


def definition_part_of(body: Any) -> DefinitionPartBody:
    """A definition part, parsed as Elasticsearch's `put_trained_model_part_action` parser does."""
    return parse_body(DefinitionPartBody, body, "put_trained_model_part_action")


def vocabulary_of(body: Any) -> VocabularyRecord:
    """A vocabulary, parsed as Elasticsearch's `put_trained_model_vocabulary` parser does."""
    request = parse_body(VocabularyBody, body, "put_trained_model_vocabulary")
    return VocabularyRecord(request.vocabulary, request.merges, request.scores)
