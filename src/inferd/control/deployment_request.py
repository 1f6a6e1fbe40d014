"""Reading `_start` and `_update` requests: query or body, legacy names, and Elasticsearch's checks in its order.

Every parameter may come in the query string or the body (elasticsearch-py sends the query; newer clients
and curl users send the body). Given in both, the two must agree. The 8.0 names `inference_threads` and
`model_threads` are read as `threads_per_allocation` and `number_of_allocations`, with a deprecation warning.

The bodies are typed (`StartBody`, `UpdateBody`): their fields are the names a request may give, their JSON
schema the OpenAPI description. Elasticsearch checks them in an order of its own, with its messages, so the
parsers below check by hand first; a body they take must then pass its model too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, StrictBool, ValidationInfo
from pydantic.json_schema import SkipJsonSchema

from inferd.control.request_body import MODEL_ID, POSITIVE_TIME, Checked, Schema, StrictBody, parse_body
from inferd.errors import IllegalArgument, ParseError, ValidationFailed
from inferd.runtime.device import CPU, DEVICE_PATTERN, DeviceRequest, Precision, precision_problems
from inferd.units import parse_byte_size, parse_time_value

START_PARSER = "cluster:admin/xpack/ml/trained_models/deployment/start"
UPDATE_PARSER = "cluster:admin/xpack/ml/trained_models/deployment/update"
WaitState = Literal["starting", "started", "fully_allocated"]
WAIT_STATES: tuple[str, ...] = get_args(WaitState)
Priority = Literal["normal", "low"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
MAX_QUEUE_CAPACITY = 100_000
MAX_THREADS_PER_ALLOCATION = 32
MAX_BATCH_DOCUMENTS = 1024
DEFAULT_QUEUE_CAPACITY = 1024
DEFAULT_START_TIMEOUT = "20s"
LEGACY_NAMES = {"inference_threads": "threads_per_allocation", "model_threads": "number_of_allocations"}
INTEGERS = frozenset({"number_of_allocations", "threads_per_allocation", "queue_capacity", *LEGACY_NAMES})
THREADS = [1 << power for power in range(MAX_THREADS_PER_ALLOCATION.bit_length())]
"""The powers of two up to the maximum: what `threads_per_allocation` takes."""
CACHE_SIZE = r"^(0|[0-9]{1,12}(b|kb|mb|gb|tb|pb))$"
"""A byte size `cache_size` takes (0, or a count with a unit)."""


def parse_integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{str(value).lower()}]")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{value}]") from None


def _integer_field(value: Any, info: ValidationInfo) -> int:
    return parse_integer(info.field_name or "", value)


EsInteger = Annotated[int, BeforeValidator(_integer_field)]
"""An integer as Elasticsearch reads a parameter: a number, or text that is one (never a boolean)."""
EsText = Annotated[str, BeforeValidator(str)]
"""A text parameter as Elasticsearch reads it: any value, as its text."""


class AdaptiveAllocationsBody(StrictBody):
    """The scaler keeps the allocations between the bounds (-1: no bound), the lower at most the upper."""

    enabled: StrictBool | None = None
    min_number_of_allocations: Annotated[EsInteger | None, Checked(minimum=-1)] = None
    max_number_of_allocations: Annotated[EsInteger | None, Checked(minimum=-1, **{"not": {"enum": [0]}})] = None


PrecisionName = Literal["float32", "float16", "bfloat16"]
PRECISIONS: tuple[str, ...] = get_args(PrecisionName)
CUDA_ONLY_PRECISION: Schema = {
    "if": {"properties": {"device": {"const": "cpu"}}, "required": ["device"]},
    "then": {"properties": {"precision": {"enum": [None, *(str(p) for p in (Precision.FLOAT32, Precision.BFLOAT16))]}}},
}
"""`precision_problems`: float16 autocast only on a cuda device."""


class InferdOptions(StrictBody):
    """inferd's own options of a deployment: its batch limit (default: the server's, larger on a GPU), the device
    its workers run on (`cpu`, any `cuda` device, or `cuda:N`), and the precision of its forward passes."""

    max_batch_documents: Annotated[EsInteger | None, Checked(minimum=1, maximum=MAX_BATCH_DOCUMENTS)] = None
    device: Annotated[EsText | None, Checked(nullable=False, pattern=DEVICE_PATTERN)] = None
    precision: Annotated[PrecisionName | None, Checked(nullable=False)] = None

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        schema.update(CUDA_ONLY_PRECISION)


ADAPTIVE_SETS_THE_COUNT: Schema = {"dependentSchemas": {"number_of_allocations": {
    "properties": {"adaptive_allocations": {"properties": {"enabled": {"enum": [False, None]}}}}}}}
"""`resource_problems`: with adaptive allocations enabled, the scaler sets the allocation count."""
LOW_PRIORITY_IS_ONE_THREAD: Schema = {
    "if": {"properties": {"priority": {"const": "low"}}, "required": ["priority"]},
    "then": {"properties": {"threads_per_allocation": {"enum": [1]}, "number_of_allocations": {"maximum": 1}}},
}
"""`resource_problems`: a low priority deployment runs one allocation of one thread."""


class DeploymentResources(StrictBody):
    """What a deployment runs with; a low priority takes one allocation of one thread."""

    number_of_allocations: Annotated[EsInteger | None, Checked(nullable=False, minimum=1)] = None
    threads_per_allocation: Annotated[EsInteger | None, Checked(nullable=False, enum=THREADS)] = None
    queue_capacity: Annotated[EsInteger | None, Checked(nullable=False, minimum=1, maximum=MAX_QUEUE_CAPACITY)] = None
    cache_size: Annotated[EsText | None, Checked(pattern=CACHE_SIZE)] = None
    priority: Annotated[Priority | None, Checked(nullable=False)] = None
    adaptive_allocations: AdaptiveAllocationsBody | None = None
    inferd: InferdOptions | None = None

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        schema.update(ADAPTIVE_SETS_THE_COUNT, allOf=[LOW_PRIORITY_IS_ONE_THREAD])


class StartBody(DeploymentResources):
    """`_start`'s parameters, in the body or the query string; a `model_id` here is the path's."""

    deployment_id: Annotated[EsText | None, Checked(**MODEL_ID)] = None
    wait_for: Annotated[WaitState | None, Checked(nullable=False)] = None
    timeout: Annotated[EsText | None, Checked(nullable=False, **POSITIVE_TIME)] = None
    model_id: Annotated[str | None, Checked(nullable=False, description="the path's model_id")] = None
    # The 8.0 names, still read (with a warning) but no longer described: given with today's, they are refused.
    inference_threads: SkipJsonSchema[EsInteger | None] = None
    model_threads: SkipJsonSchema[EsInteger | None] = None


class UpdateBody(StrictBody):
    """`_update`'s parameters: a new allocation count, or adaptive allocations (in the body or the query)."""

    number_of_allocations: Annotated[EsInteger | None, Checked(minimum=1)] = None
    adaptive_allocations: AdaptiveAllocationsBody | None = None

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        """Not both with adaptive allocations enabled. (That one of them is given, here or in the query string, is a
        rule across the two that no schema of the body states.)"""
        schema.update(ADAPTIVE_SETS_THE_COUNT)


START_BODY = tuple(StartBody.model_fields)
ADAPTIVE_FIELDS = tuple(AdaptiveAllocationsBody.model_fields)
INFERD_FIELDS = tuple(InferdOptions.model_fields)


@dataclass(frozen=True)
class AdaptiveAllocations:
    enabled: bool | None = None
    min_number_of_allocations: int | None = None
    max_number_of_allocations: int | None = None

    @staticmethod
    def from_settings(settings: Mapping[str, Any]) -> AdaptiveAllocations | None:
        """The adaptive allocations of stored deployment settings (as `stored` writes them), if any."""
        stored = settings.get("adaptive_allocations")
        return AdaptiveAllocations(**stored) if isinstance(stored, Mapping) else stored

    def stored(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def min_allocations(self) -> int | None:
        """The lower bound, None when unset (-1 is Elasticsearch's "unset")."""
        return None if self.min_number_of_allocations == -1 else self.min_number_of_allocations

    @property
    def max_allocations(self) -> int | None:
        return None if self.max_number_of_allocations == -1 else self.max_number_of_allocations

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {"enabled": bool(self.enabled)}
        for name in ("min_number_of_allocations", "max_number_of_allocations"):
            value = getattr(self, name)
            if value is not None and value != -1:
                rendered[name] = value
        return rendered

    def problems(self) -> list[str]:
        """AdaptiveAllocationsSettings#validate; -1 means unset and is exempt."""
        found = []
        low, high = self.min_number_of_allocations, self.max_number_of_allocations
        if low is not None and low != -1 and low < 0:
            found.append("[min_number_of_allocations] must be a non-negative integer or null")
        if high is not None and high != -1 and high < 1:
            found.append("[max_number_of_allocations] must be a positive integer or null")
        if low is not None and low != -1 and high is not None and high != -1 and low > high:
            found.append("[min_number_of_allocations] must not be larger than [max_number_of_allocations]")
        return found


@dataclass(frozen=True)
class StartRequest:
    model_id: str
    deployment_id: str
    number_of_allocations: int
    threads_per_allocation: int
    queue_capacity: int
    cache_size: str | None
    priority: str
    wait_for: str
    timeout_s: float
    timeout_text: str
    adaptive_allocations: AdaptiveAllocations | None
    max_batch_documents: int | None
    warnings: tuple[str, ...]
    device: DeviceRequest = CPU
    precision: Precision = Precision.FLOAT32


@dataclass(frozen=True)
class UpdateRequest:
    number_of_allocations: int | None
    adaptive_allocations: AdaptiveAllocations | None


def check_typed(model: type[StrictBody], body: Mapping[str, Any] | None, parser: str) -> None:
    """A body the hand checks took must pass its model too: what the description refuses, the server refuses."""
    if body is not None:
        parse_body(model, dict(body), parser)


def merge_parameters(query: Mapping[str, str], body: Mapping[str, Any] | None, allowed: tuple[str, ...], parser: str,
           ) -> dict[str, Any]:
    """One set of parameters from the query string and the body; the same name in both must agree."""
    given: dict[str, Any] = dict(query)
    if body is None:
        return given
    if not isinstance(body, Mapping):
        raise ParseError(f"[{parser}] Expected START_OBJECT but found [{type(body).__name__}]")
    for name, value in body.items():
        if name not in allowed:
            raise ParseError(f"[{parser}] unknown field [{name}]")
        if name in given and str(given[name]).lower() != str(value).lower():
            raise IllegalArgument(
                f"[{name}] is given in the query string as [{given[name]}] and in the body as [{value}]; give it once"
            )
        given[name] = value
    return given


def _legacy(given: dict[str, Any]) -> list[str]:
    """Read the 8.0 names into today's, and say so."""
    warnings = []
    for old, new in LEGACY_NAMES.items():
        if old not in given:
            continue
        if new in given:
            raise IllegalArgument(f"[{old}] and [{new}] cannot both be set; [{old}] is the deprecated name of [{new}]")
        given[new] = given.pop(old)
        warnings.append(f"[{old}] is deprecated, use [{new}] instead")
    return warnings


def parse_adaptive(value: Any, parser: str) -> AdaptiveAllocations | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ParseError(f"[{parser}] adaptive_allocations doesn't support values of type: VALUE_{type(value).__name__.upper()}")
    for name in value:
        if name not in ADAPTIVE_FIELDS:
            raise ParseError(f"[adaptive_allocations] unknown field [{name}]", caused_by=None)
    enabled = value.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise ParseError("[adaptive_allocations] failed to parse field [enabled]")
    bounds = {name: None if value.get(name) is None else parse_integer(name, value[name]) for name in ADAPTIVE_FIELDS[1:]}
    return AdaptiveAllocations(enabled, **bounds)


@dataclass(frozen=True)
class InferdRequest:
    """The `inferd` section as given: what is absent is None (`_start` takes the defaults, `_redeploy` keeps the
    deployment's values)."""

    max_batch_documents: int | None = None
    device: DeviceRequest | None = None
    precision: Precision | None = None

    def changes(self) -> dict[str, Any]:
        """The settings given, by setting name (as `DeploymentSettings` names them)."""
        return {name: value for name, value in vars(self).items() if value is not None}


def parse_inferd(value: Any) -> InferdRequest:
    """The `inferd` section of `_start` and `_redeploy`."""
    if value is None:
        return InferdRequest()
    if not isinstance(value, Mapping) or any(name not in INFERD_FIELDS for name in value):
        raise ParseError(f"[inferd] accepts only [{', '.join(INFERD_FIELDS)}]")
    problems = []
    limit = value.get("max_batch_documents")
    limit = None if limit is None else parse_integer("max_batch_documents", limit)
    if limit is not None and not 1 <= limit <= MAX_BATCH_DOCUMENTS:
        problems.append(f"[max_batch_documents] must be between 1 and {MAX_BATCH_DOCUMENTS}")
    device = None
    if "device" in value:
        try:
            device = DeviceRequest.parse(str(value["device"]))
        except ValueError as error:
            problems.append(str(error))
    precision = None
    if "precision" in value:
        if value["precision"] in PRECISIONS:
            precision = Precision(value["precision"])
        else:
            problems.append(f"[precision] must be one of [{', '.join(PRECISIONS)}]; got [{value['precision']}]")
    if problems:
        raise ValidationFailed(problems)
    return InferdRequest(limit, device, precision)


def parse_cache_size(value: Any) -> str | None:
    if value is None:
        return None
    cache_size = str(value)
    try:
        if parse_byte_size(cache_size, "cache_size") < 0:
            raise ValueError(f"[cache_size] must be non-negative; got [{cache_size}]")
    except ValueError as error:
        raise IllegalArgument(str(error)) from None
    return cache_size


def parse_timeout(given: Mapping[str, Any], default: str) -> tuple[float, str]:
    """The `timeout` parameter, in seconds and as written."""
    text = str(given.get("timeout", default))
    try:
        return parse_time_value(text, "timeout"), text
    except ValueError as error:
        raise IllegalArgument(str(error)) from None


def resource_problems(allocations: int | None, threads: int, queue_capacity: int, priority: str,
                      adaptive: AdaptiveAllocations | None) -> list[str]:
    """Elasticsearch's checks of a deployment's resources, in its order (`_start`, and inferd's rollouts)."""
    problems = []
    if allocations is not None and allocations < 1:
        problems.append("[number_of_allocations] must be a positive integer")
    if allocations is not None and adaptive is not None and adaptive.enabled:
        problems.append("[number_of_allocations] cannot be set if adaptive allocations is enabled")
    if threads < 1:
        problems.append("[threads_per_allocation] must be a positive integer")
    if adaptive is not None:
        problems += adaptive.problems()
    if threads >= 1 and (threads > MAX_THREADS_PER_ALLOCATION or threads & (threads - 1)):
        problems.append(f"[threads_per_allocation] must be a power of 2 less than or equal to {MAX_THREADS_PER_ALLOCATION}")
    if queue_capacity < 1:
        problems.append("[queue_capacity] must be a positive integer")
    if queue_capacity > MAX_QUEUE_CAPACITY:
        problems.append(f"[queue_capacity] must be less than {MAX_QUEUE_CAPACITY}")
    if priority == "low" and allocations is not None and allocations > 1:
        problems.append("[number_of_allocations] must be 1 when [priority] is low")
    if priority == "low" and threads > 1:
        problems.append("[threads_per_allocation] must be 1 when [priority] is low")
    return problems


def parse_start_request(model_id: str, query: Mapping[str, str], body: Mapping[str, Any] | None) -> StartRequest:
    given = merge_parameters(query, body, START_BODY, START_PARSER)
    warnings = _legacy(given)
    if "model_id" in given and given["model_id"] != model_id:
        raise IllegalArgument(
            f"Inconsistent model_id; '{given['model_id']}' specified in the body differs from '{model_id}' "
            "specified as a URL argument"
        )
    numbers = {name: parse_integer(name, given[name]) for name in INTEGERS if name in given}
    adaptive = parse_adaptive(given.get("adaptive_allocations"), START_PARSER)
    wait_for = str(given.get("wait_for", "started"))
    timeout_s, timeout_text = parse_timeout(given, DEFAULT_START_TIMEOUT)
    priority = str(given.get("priority", "normal"))
    if priority not in PRIORITIES:
        raise IllegalArgument(f"[priority] must be one of [{', '.join(PRIORITIES)}]; got [{priority}]")
    cache_size = parse_cache_size(given.get("cache_size"))
    inferd = parse_inferd(given.get("inferd"))
    device = inferd.device or CPU
    precision = inferd.precision or Precision.FLOAT32
    allocations = numbers.get("number_of_allocations")
    threads = numbers.get("threads_per_allocation", 1)
    queue_capacity = numbers.get("queue_capacity", DEFAULT_QUEUE_CAPACITY)

    problems = []
    if wait_for not in WAIT_STATES:
        problems.append(f"invalid [wait_for] state [{wait_for}]; must be one of [{', '.join(WAIT_STATES)}]")
    problems += resource_problems(allocations, threads, queue_capacity, priority, adaptive)
    problems += precision_problems(device, precision)
    if timeout_s <= 0:
        problems.append("[timeout] must be positive")
    if problems:
        raise ValidationFailed(problems)

    if allocations is None:
        low = adaptive.min_number_of_allocations if adaptive is not None and adaptive.enabled else None
        allocations = low if low is not None and low not in (-1, 0) else 1
    request = StartRequest(
        model_id=model_id,
        deployment_id=str(given.get("deployment_id") or model_id),
        number_of_allocations=allocations,
        threads_per_allocation=threads,
        queue_capacity=queue_capacity,
        cache_size=cache_size,
        priority=priority,
        wait_for=wait_for,
        timeout_s=timeout_s,
        timeout_text=timeout_text,
        adaptive_allocations=adaptive,
        max_batch_documents=inferd.max_batch_documents,
        warnings=tuple(warnings),
        device=device,
        precision=precision,
    )
    check_typed(StartBody, body, START_PARSER)
    return request


def parse_update_request(query: Mapping[str, str], body: Mapping[str, Any] | None) -> UpdateRequest:
    given = merge_parameters(query, body, tuple(UpdateBody.model_fields), UPDATE_PARSER)
    allocations = given.get("number_of_allocations")
    allocations = None if allocations is None else parse_integer("number_of_allocations", allocations)
    adaptive = parse_adaptive(given.get("adaptive_allocations"), UPDATE_PARSER)
    problems = []
    if allocations is not None and allocations < 1:
        problems.append("[number_of_allocations] must be a positive integer")
    if allocations is None and adaptive is None:
        problems.append("[number_of_allocations] or [adaptive_allocations] is required")
    if problems:
        raise ValidationFailed(problems)
    check_typed(UpdateBody, body, UPDATE_PARSER)
    return UpdateRequest(allocations, adaptive)
