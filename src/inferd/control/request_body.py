"""What every typed request body shares: a strict model whose JSON schema is the body's OpenAPI description.

A body has one definition, its model. The server validates the body through it, so a body the model refuses is
a body the server refuses; the description is the model's JSON schema, so it cannot name other fields or types.
Some rules must keep Elasticsearch's own check, message and order (a required field answered "[x] must not be
null.", a bound answered with a numbered validation failure, a rule across fields): validation leaves those to
the check, and the field says them to the description with `Checked`, next to its type (a model's rules across
its fields, in `describe_rules`). The description is never looser than the server: a body it allows passes every
check but those that depend on the path or the store, or compare fields in ways JSON Schema cannot state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, TypeAdapter, ValidationError, create_model
from pydantic.json_schema import JsonSchemaValue

from inferd.control.ids import ID_MAX_LENGTH, ID_PATTERN
from inferd.errors import BodyUnreadable, IllegalArgument, InferdError, ParseError
from inferd.suggestions import did_you_mean

Schema = dict[str, Any]
Body = TypeVar("Body", bound="StrictBody")
Model = TypeVar("Model", bound=BaseModel)

NULL: Schema = {"type": "null"}
MODEL_ID: Schema = {"pattern": f"^{ID_PATTERN}$", "maxLength": ID_MAX_LENGTH}
"""An Elasticsearch model, deployment or tag id (MlStrings, `control/ids.py`)."""
TIME_VALUE: Schema = {"pattern": r"^(-1|0|[0-9]{1,9}(nanos|micros|ms|s|m|h|d))$", "maxLength": 16}
"""What `units.parse_time_value` reads."""
POSITIVE_TIME: Schema = {"pattern": r"^0*[1-9][0-9]{0,8}(nanos|micros|ms|s|m|h|d)$", "maxLength": 16}
"""A time value that must be positive (a request's `timeout`)."""


def refine(schema: Schema, keywords: Mapping[str, Any]) -> Schema:
    """`schema` with `keywords` merged in (nested objects merged key by key); for `X | None`, into X's branch."""
    branches = schema.get("anyOf", [])
    values = [branch for branch in branches if branch != NULL]
    if len(values) == 1 and len(branches) == 2:
        return {**schema, "anyOf": [refine(values[0], keywords), NULL]}
    merged = dict(schema)
    for key, value in keywords.items():
        current = merged.get(key)
        merged[key] = refine(current, value) if isinstance(current, dict) and isinstance(value, Mapping) else value
    return merged


def without_null(schema: Schema) -> Schema:
    """`X | None` described as X alone (a null the server refuses, or a required field)."""
    branches = schema.get("anyOf", [])
    values = [branch for branch in branches if branch != NULL]
    if len(values) == len(branches):
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf" and not (key == "default" and value is None)}
    return {**values[0], **rest} if len(values) == 1 else {**rest, "anyOf": values}


class Checked:
    """What the description says of a field that validation leaves to a hand check (Elasticsearch's message, in
    its order): that it is `required`, that null is refused (`nullable=False`), and JSON Schema `keywords`."""

    def __init__(self, *, required: bool = False, nullable: bool = True, **keywords: Any) -> None:
        self.required = required
        self.nullable = nullable and not required
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        return refine(schema if self.nullable else without_null(schema), self.keywords)


class DescribedAs:
    """A field validated as raw JSON (its own parser answers Elasticsearch's messages) but described as `shape`."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(TypeAdapter(self.shape).core_schema)


def _describe(schema: Schema, cls: type[BaseModel]) -> None:
    """Every StrictBody's description: its `Checked` fields, its bounds, its rules across fields; no titles."""
    assert issubclass(cls, StrictBody)
    schema.pop("title", None)
    properties: Schema = schema.get("properties", {})
    for name, field in cls.model_fields.items():
        key = field.alias or name
        if key not in properties:
            continue  # a field the description leaves out (`SkipJsonSchema`)
        properties[key].pop("title", None)
        checks = [mark for mark in field.metadata if isinstance(mark, Checked)]
        if any(check.required for check in checks):
            schema["required"] = [*schema.get("required", []), key]
            properties[key].pop("default", None)
        elif any(not check.nullable for check in checks) and properties[key].get("default", 0) is None:
            properties[key].pop("default")  # absent, not null
    for key, bounds in cls.described_bounds.items():
        properties[key] = refine(properties[key], bounds)
    cls.describe_rules(schema)


class StrictBody(BaseModel):
    """A request body: unknown fields refused, as Elasticsearch's strict parsers do."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_describe)
    described_bounds: ClassVar[Mapping[str, Schema]] = {}
    """JSON Schema keywords per field that the server's limits set (`with_bounds`)."""

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        """Say in the description what a hand check enforces across fields (a subclass's own rules)."""


class OneKey(StrictBody):
    """Elasticsearch's one-key container (`{"ner": {...}}`): exactly one member, never null (null names none)."""

    described_as_forms: ClassVar[bool] = True
    """One form per member, which schemathesis' coverage phase explores one by one (it does not, behind
    `maxProperties: 1`); False where the forms would multiply with a container's around it."""

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        members = {name: without_null(member) for name, member in schema.pop("properties").items()}
        if not cls.described_as_forms:
            schema.update(properties=members, minProperties=1, maxProperties=1)
            return
        del schema["type"], schema["additionalProperties"]  # each form says its own
        schema["anyOf"] = [{"type": "object", "additionalProperties": False, "properties": {name: member},
                            "required": [name]} for name, member in members.items()]


def with_bounds(model: type[Body], **bounds: Schema) -> type[Body]:
    """`model` described with bounds that are the running server's settings (its limits' checks enforce them)."""
    described = {**model.described_bounds, **bounds}
    return type(model.__name__, (model,), {"described_bounds": described, "__module__": model.__module__,
                                           "__doc__": model.__doc__})


def parse_body(model: type[Model], data: Any | None, parser: str) -> Model:
    """Validate `data` against its model, answering as Elasticsearch's ObjectParser named `parser` does."""
    if data is None:
        raise BodyUnreadable("request body is required")
    if not isinstance(data, dict):
        raise ParseError(f"[{parser}] Expected START_OBJECT but found [{type(data).__name__}]")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, model, parser) from None


def describe_validation_error(error: ValidationError, model: type[BaseModel], parser: str) -> InferdError:
    first = error.errors()[0]
    path = [str(part) for part in first["loc"] if not isinstance(part, int)]
    field = path[-1] if path else parser
    owner = path[-2] if len(path) > 1 else parser
    kind = first["type"]
    cause: InferdError
    if kind == "extra_forbidden":
        hint = did_you_mean(field, model.model_fields) if len(path) == 1 else ""
        cause = ParseError(f"[{owner}] unknown field [{field}]" + (f" {hint}" if hint else ""))
    elif kind == "missing":
        cause = ParseError(f"[{owner}] Required [{field}]")
    elif kind == "value_error":
        cause = IllegalArgument(str(first["ctx"]["error"]))
    else:
        cause = ParseError(f"[{owner}] failed to parse field [{field}]: {first['msg']}")
    if not path or (len(path) == 1 and kind in ("extra_forbidden", "missing")):
        return cause
    # Errors in a field's value are wrapped by the top-level parser, as Elasticsearch's ObjectParser does.
    return ParseError(f"[{parser}] failed to parse field [{path[0]}]", caused_by=cause)


def model_with_fields(name: str, base: type[Model], fields: Mapping[str, tuple[Any, Any]]) -> type[Model]:
    """pydantic's `create_model` for a model whose fields are known only at run time (one per task, per field),
    typed as the base it extends."""
    created: type[Model] = create_model(name, __base__=base, **fields)  # type: ignore[call-overload]
    return created
