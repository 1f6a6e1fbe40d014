"""Bodies of the model APIs (the model config itself lives in control/inference_config.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DefinitionPartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: str | None = None
    total_definition_length: int = 0
    total_parts: int = 0


class VocabularyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocabulary: list[str] | None = None
    merges: list[str] | None = None
    scores: list[float] | None = None
