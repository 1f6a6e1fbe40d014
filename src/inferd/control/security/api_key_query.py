"""The query language of Elasticsearch's Query API keys, the bounded subset inferd serves, over stored keys.

Pure: a request's `query` and `sort` are parsed once into matchers and sort keys (every unknown query type, field
or option refused with Elasticsearch's 400 before any key is read), then applied to the keys in memory. A query is
bounded in depth and in clauses, so its cost is at most clauses x keys. `ApiKeyQuery` and `Sort` describe what the
parsers take (the OpenAPI description of the request); the parsers themselves answer Elasticsearch's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import Field

from inferd.control.request_body import Checked, OneKey, StrictBody, model_with_fields
from inferd.errors import IllegalArgument, ParseError
from inferd.store import ApiKeyRecord

MAX_DEPTH = 20
MAX_CLAUSES = 1024
MAX_RESULT_WINDOW = 10_000

Matcher = Callable[[ApiKeyRecord], bool]

STRING_FIELDS: dict[str, Callable[[ApiKeyRecord], str]] = {
    "id": lambda record: record.key_id,
    "name": lambda record: record.name,
    "username": lambda record: record.username,
    "realm_name": lambda record: record.realm,
}
FIELDS: dict[str, Callable[[ApiKeyRecord], Any]] = {
    **STRING_FIELDS,
    "invalidated": lambda record: record.invalidated,
    "creation": lambda record: record.creation_ms,
    "expiration": lambda record: record.expiration_ms,
}
SORTABLE = ("name", "creation", "expiration", "username")
BOOL_OCCURS = ("must", "filter", "should", "must_not")
FIELD_TYPES: Mapping[str, type] = {**dict.fromkeys(STRING_FIELDS, str), "invalidated": bool, "creation": int,
                                   "expiration": int}
"""The value each field is queried with (`_normal` also reads them from text)."""


def _one_field(name: str, fields: Iterable[str], value: Callable[[str], Any]) -> type[OneKey]:
    """A query or sort naming exactly one field: `{"name": ...}`."""
    return model_with_fields(name, OneKey, {field: (value(field) | None, None) for field in fields})


class MatchAllQuery(StrictBody):
    boost: float | None = None


class BoolQuery(StrictBody):
    must: Clauses | None = None
    filter: Clauses | None = None
    should: Clauses | None = None
    must_not: Clauses | None = None
    minimum_should_match: Annotated[int | None, Checked(nullable=False, minimum=0)] = None
    boost: float | None = None


class ApiKeyQuery(OneKey):
    """One query of the subset of Elasticsearch's query DSL that Query API keys takes, over the keys' fields."""

    match_all: MatchAllQuery | None = None
    term: _one_field("TermQuery", FIELDS, FIELD_TYPES.__getitem__) | None = None  # type: ignore[valid-type]
    terms: _one_field("TermsQuery", FIELDS, lambda field: Annotated[  # type: ignore[valid-type]
        list[FIELD_TYPES[field]], Field(max_length=MAX_CLAUSES)]) | None = None
    prefix: _one_field("PrefixQuery", STRING_FIELDS, lambda field: str) | None = None  # type: ignore[valid-type]
    bool_: BoolQuery | None = Field(None, alias="bool")


Clauses = Union[ApiKeyQuery, Annotated[list[ApiKeyQuery], Field(max_length=MAX_CLAUSES)]]
BoolQuery.model_rebuild()

SortOrder = Literal["asc", "desc"]


class SortOrderOption(StrictBody):
    order: Annotated[SortOrder | None, Checked(nullable=False)] = None


SortItem = Union[  # type: ignore[valid-type]  # built at run time from the sortable fields
    Literal[(*SORTABLE, *(f"{field}:{order}" for field in SORTABLE for order in ("asc", "desc")))],
    _one_field("FieldSort", SORTABLE, lambda field: SortOrder | SortOrderOption),
]
Sort = Union[SortItem, list[SortItem]]  # type: ignore[valid-type]
"""The sort forms `parse_sort` reads."""


def _field(name: str, fields: Mapping[str, Any]) -> str:
    if name not in fields:
        raise IllegalArgument(f"Field [{name}] is not allowed for querying or aggregation")
    return name


def _normal(field: str, value: Any) -> Any:
    """A query value as the field holds it: keyword text, a boolean, or epoch milliseconds."""
    if field == "invalidated":
        if isinstance(value, bool) or value in ("true", "false"):
            return value in (True, "true")
    elif field in ("creation", "expiration"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise IllegalArgument(f"failed to parse [{value!r}] as a value of field [{field}]")


def _single_field(kind: str, body: Any) -> tuple[str, Any]:
    """`{"field": value}` or `{"field": {"value": value}}`, as `term` and `prefix` take them."""
    if not isinstance(body, dict) or len(body) != 1:
        raise ParseError(f"[{kind}] query requires exactly one field")
    ((field, value),) = body.items()
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"value"})
        if unknown:
            raise ParseError(f"[{kind}] query does not support [{unknown[0]}]")
        if "value" not in value:
            raise ParseError(f"[{kind}] query requires a [value]")
        value = value["value"]
    return field, value


class _Parser:
    """Counts clauses across one query, so that a wide query is refused as a deep one is."""

    def __init__(self) -> None:
        self.clauses = 0

    def _count(self, n: int = 1) -> None:
        self.clauses += n
        if self.clauses > MAX_CLAUSES:
            raise IllegalArgument(f"Query contains too many nested clauses; maxClauseCount is set to {MAX_CLAUSES}")

    def parse(self, query: Any, depth: int = 1) -> Matcher:
        if depth > MAX_DEPTH:
            raise IllegalArgument("The nested depth of the query exceeds the maximum nested depth for queries set in "
                                  f"[indices.query.max_nested_depth] ({MAX_DEPTH})")
        if not isinstance(query, dict) or len(query) != 1:
            raise ParseError("[_na] query malformed, must start with start_object and hold exactly one query")
        ((kind, body),) = query.items()
        self._count()
        if kind == "match_all":
            unknown = sorted(set(body) - {"boost"}) if isinstance(body, dict) else ["_na"]
            if unknown:
                raise ParseError(f"[match_all] query does not support [{unknown[0]}]")
            return lambda record: True
        if kind == "term":
            field, value = _single_field(kind, body)
            get, wanted = FIELDS[_field(field, FIELDS)], _normal(field, value)
            return lambda record: get(record) == wanted
        if kind == "terms":
            return self._terms(body)
        if kind == "prefix":
            field, value = _single_field(kind, body)
            get_text, prefix = STRING_FIELDS[_field(field, STRING_FIELDS)], _normal(field, value)
            return lambda record: get_text(record).startswith(prefix)
        if kind == "bool":
            return self._bool(body, depth)
        raise IllegalArgument(f"Query type [{kind}] is not supported for API Key query")

    def _terms(self, body: Any) -> Matcher:
        if not isinstance(body, dict) or len(body) != 1:
            raise ParseError("[terms] query requires exactly one field")
        ((field, values),) = body.items()
        if not isinstance(values, list):
            raise ParseError(f"[terms] query does not support [{field}] with a value that is not an array")
        self._count(len(values))
        get = FIELDS[_field(field, FIELDS)]
        wanted = {_normal(field, value) for value in values}
        return lambda record: get(record) in wanted

    def _bool(self, body: Any, depth: int) -> Matcher:
        if not isinstance(body, dict):
            raise ParseError("[bool] query malformed, no start_object after query name")
        unknown = sorted(set(body) - {*BOOL_OCCURS, "minimum_should_match", "boost"})
        if unknown:
            raise ParseError(f"[bool] query does not support [{unknown[0]}]")
        clauses: dict[str, list[Matcher]] = {}
        for occur in BOOL_OCCURS:
            given = body.get(occur, [])
            clauses[occur] = [self.parse(clause, depth + 1) for clause in (given if isinstance(given, list) else [given])]
        must = clauses["must"] + clauses["filter"]
        should, must_not = clauses["should"], clauses["must_not"]
        minimum = body.get("minimum_should_match", 0 if must else 1 if should else 0)
        if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
            raise IllegalArgument("[minimum_should_match] must be a non-negative integer in an API Key query")

        def matches(record: ApiKeyRecord) -> bool:
            return (all(m(record) for m in must) and not any(m(record) for m in must_not)
                    and sum(1 for m in should if m(record)) >= minimum)

        return matches


def parse_query(query: Any | None) -> Matcher:
    """A matcher for an API key query (None is `match_all`, as in Elasticsearch)."""
    return (lambda record: True) if query is None else _Parser().parse(query)


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


def parse_sort(sort: Any | None) -> list[SortKey]:
    """Elasticsearch's sort forms: `"name"`, `"name:desc"`, `{"name": "desc"}`, `{"name": {"order": "desc"}}`,
    or a list of them."""
    if sort is None:
        return []
    keys = []
    for item in sort if isinstance(sort, list) else [sort]:
        if isinstance(item, str):
            field, _, order = item.partition(":")
        elif isinstance(item, dict) and len(item) == 1:
            ((field, order),) = item.items()
            if isinstance(order, dict):
                unknown = sorted(set(order) - {"order"})
                if unknown:
                    raise ParseError(f"[field_sort] unknown field [{unknown[0]}]")
                order = order.get("order", "")
        else:
            raise ParseError(f"[sort] malformed: {item!r}")
        if field not in SORTABLE:
            raise IllegalArgument(f"Field [{field}] is not allowed for querying or aggregation")
        if order not in ("", "asc", "desc"):
            raise IllegalArgument(f"Unknown SortOrder [{order}]")
        keys.append(SortKey(field, order == "desc"))
    return keys


def sort_values(record: ApiKeyRecord, keys: Sequence[SortKey]) -> list[Any]:
    """The `_sort` Elasticsearch shows beside each key of a sorted answer."""
    return [FIELDS[key.field](record) for key in keys]


def sort_keys(records: list[ApiKeyRecord], keys: Sequence[SortKey]) -> list[ApiKeyRecord]:
    """Sorted by each key in turn (a missing expiration last either way, as Elasticsearch's `_last`), stably, so
    that equal keys stay in creation order."""
    ordered = list(records)
    for key in reversed(keys):
        present = [record for record in ordered if FIELDS[key.field](record) is not None]
        missing = [record for record in ordered if FIELDS[key.field](record) is None]
        present.sort(key=FIELDS[key.field], reverse=key.descending)
        ordered = present + missing
    return ordered


def check_window(from_: int, size: int) -> None:
    if from_ < 0:
        raise IllegalArgument(f"[from] parameter cannot be negative but was [{from_}]")
    if size < 0:
        raise IllegalArgument(f"[size] parameter cannot be negative but was [{size}]")
    if from_ + size > MAX_RESULT_WINDOW:
        raise IllegalArgument(
            f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was "
            f"[{from_ + size}]. See the scroll api for a more efficient way to request large data sets. This limit can "
            "be set by changing the [index.max_result_window] index level setting."
        )
