"""Bodies of the model APIs (the model config itself lives in control/inference_config.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The store keeps lengths as 64-bit integers.
MAX_DEFINITION_LENGTH = 2**63 - 1


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
