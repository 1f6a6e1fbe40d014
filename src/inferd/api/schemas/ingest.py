"""The bodies of the ingest pipeline API: a pipeline (its processors each a one-key `{type: {options}}`, whose
options the processors check with Elasticsearch's messages), and `_simulate`'s documents."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from inferd.control.ingest.processors import FACTORIES
from inferd.control.request_body import OneKey, StrictBody, model_with_fields

Options = dict[str, Any]

ProcessorBody = model_with_fields(  # one member: the processor's type
    "ProcessorBody", OneKey, {processor_type: (Options | None, None) for processor_type in sorted(FACTORIES)})


class PipelineBody(StrictBody):
    """A pipeline: its processors in order, and what runs when one fails."""

    description: StrictStr | None = None
    processors: list[ProcessorBody]  # type: ignore[valid-type]
    on_failure: Annotated[list[ProcessorBody] | None, Field(min_length=1)] = None  # type: ignore[valid-type]
    version: StrictInt | None = None
    meta: Annotated[dict[str, Any] | None, Field(alias="_meta")] = None
    deprecated: StrictBool | None = None


class SimulatedDocument(StrictBody):
    index: Annotated[StrictStr | None, Field(alias="_index")] = None
    id: Annotated[StrictStr | None, Field(alias="_id")] = None
    routing: Annotated[StrictStr | None, Field(alias="_routing")] = None
    version: Annotated[StrictInt | None, Field(alias="_version")] = None
    source: Annotated[dict[str, Any], Field(alias="_source")]


class SimulateBody(StrictBody):
    """Documents to run a pipeline over: the stored one the path names, or `pipeline`."""

    pipeline: PipelineBody | None = None
    docs: list[SimulatedDocument]
