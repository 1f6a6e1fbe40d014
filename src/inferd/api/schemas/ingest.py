"""The bodies of the ingest pipeline API: a pipeline (its processors each a one-key `{type: {options}}`, the options
of each type described here and checked by the processor with Elasticsearch's messages), and `_simulate`'s
documents. `script` is not described: inferd refuses it whatever its options."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from inferd.control.request_body import Checked, OneKey, StrictBody, model_with_fields
from inferd.nlp.tasks.updates import UPDATABLE

Flag = StrictBool | Literal["true", "false"]
"""A processor's boolean option: Elasticsearch's `ConfigurationUtils` reads `"true"` and `"false"` too."""
FieldNames = StrictStr | list[StrictStr]


class ProcessorOptions(StrictBody):
    """What every processor takes."""

    tag: StrictStr | None = None
    description: StrictStr | None = None
    if_: Annotated[StrictStr | None, Field(alias="if")] = None
    ignore_failure: Flag | None = None
    on_failure: Annotated[list[ProcessorBody] | None, Field(min_length=1)] = None  # type: ignore[valid-type]


class InputOutput(StrictBody):
    input_field: Annotated[StrictStr | None, Checked(required=True)] = None
    output_field: StrictStr | None = None


InferenceConfigOverride = model_with_fields(  # the model's task; its options are checked against the model
    "InferenceConfigOverride", OneKey, {task: (dict[str, Any] | None, None) for task in UPDATABLE})


class InferenceOptions(ProcessorOptions):
    """The model (or endpoint) and where its input comes from and its result goes: `target_field` and `field_map`,
    or `input_output`, not both."""

    model_id: Annotated[StrictStr | None, Checked(required=True)] = None
    target_field: StrictStr | None = None
    field_map: dict[str, StrictStr] | None = None
    field_mappings: dict[str, StrictStr] | None = None  # `field_map`'s deprecated name
    inference_config: InferenceConfigOverride | None = None  # type: ignore[valid-type]
    input_output: InputOutput | Annotated[list[InputOutput], Field(min_length=1)] | None = None
    ignore_missing: Flag | None = None


class SetOptions(ProcessorOptions):
    """`value` or `copy_from`, not both."""

    field: Annotated[StrictStr | None, Checked(required=True)] = None
    value: Any = None
    copy_from: StrictStr | None = None
    override: Flag | None = None
    ignore_empty_value: Flag | None = None


class RemoveOptions(ProcessorOptions):
    """`field` or `keep`, not both."""

    field: FieldNames | None = None
    keep: FieldNames | None = None
    ignore_missing: Flag | None = None


class RenameOptions(ProcessorOptions):
    field: Annotated[StrictStr | None, Checked(required=True)] = None
    target_field: Annotated[StrictStr | None, Checked(required=True)] = None
    ignore_missing: Flag | None = None
    override: Flag | None = None


class LowercaseOptions(ProcessorOptions):
    field: Annotated[StrictStr | None, Checked(required=True)] = None
    target_field: StrictStr | None = None
    ignore_missing: Flag | None = None


OPTIONS: dict[str, type[ProcessorOptions]] = {"inference": InferenceOptions, "lowercase": LowercaseOptions,
                                              "remove": RemoveOptions, "rename": RenameOptions, "set": SetOptions}
"""Each processor type's options (`control/ingest/processors/`'s factories but `script`)."""

ProcessorBody = model_with_fields(  # one member: the processor's type
    "ProcessorBody", OneKey, {processor_type: (options | None, None) for processor_type, options in OPTIONS.items()})
ProcessorOptions.model_rebuild()
for _options in OPTIONS.values():
    _options.model_rebuild()


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
