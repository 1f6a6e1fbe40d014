"""The Query API keys language: what matches, the sort orders, and what is refused with Elasticsearch's words."""

from __future__ import annotations

from typing import Any

import pytest

from inferd.control.security.api_key_query import (
    MAX_CLAUSES,
    MAX_DEPTH,
    check_window,
    parse_query,
    parse_sort,
    sort_keys,
    sort_values,
)
from inferd.errors import IllegalArgument, InferdError, ParseError
from inferd.store import ApiKeyRecord


def key(key_id: str, name: str, *, username: str = "alice", realm: str = "default_native", creation: int = 1,
        expiration: int | None = None, invalidated: bool = False) -> ApiKeyRecord:
    return ApiKeyRecord(key_id=key_id, name=name, salt="", secret_hash="", creation_ms=creation,
                        expiration_ms=expiration, invalidation_ms=5 if invalidated else None, username=username,
                        realm=realm, realm_type="native", privileges=(), role_descriptors={}, limited_by=(),
                        metadata={})


KEYS = [
    key("k1", "app-a", creation=10, expiration=100),
    key("k2", "app-b", creation=20, invalidated=True),
    key("k3", "ops", username="bob", realm="reserved", creation=30, expiration=50),
]


def matching(query: Any) -> list[str]:
    matches = parse_query(query)
    return [record.key_id for record in KEYS if matches(record)]


@pytest.mark.parametrize("query, expected", [
    (None, ["k1", "k2", "k3"]),
    ({"match_all": {}}, ["k1", "k2", "k3"]),
    ({"term": {"name": "ops"}}, ["k3"]),
    ({"term": {"name": {"value": "app-a"}}}, ["k1"]),
    ({"term": {"invalidated": "true"}}, ["k2"]),
    ({"term": {"invalidated": False}}, ["k1", "k3"]),
    ({"term": {"creation": 20}}, ["k2"]),
    ({"term": {"realm_name": "reserved"}}, ["k3"]),
    ({"term": {"id": "k1"}}, ["k1"]),
    ({"terms": {"username": ["bob", "carol"]}}, ["k3"]),
    ({"terms": {"expiration": [50, "100"]}}, ["k1", "k3"]),
    ({"prefix": {"name": "app-"}}, ["k1", "k2"]),
    ({"prefix": {"name": {"value": "o"}}}, ["k3"]),
    ({"bool": {"must": [{"prefix": {"name": "app"}}], "must_not": {"term": {"invalidated": True}}}}, ["k1"]),
    ({"bool": {"should": [{"term": {"name": "ops"}}, {"term": {"id": "k2"}}]}}, ["k2", "k3"]),
    ({"bool": {"filter": {"term": {"username": "alice"}}, "should": [{"term": {"name": "none"}}]}}, ["k1", "k2"]),
    ({"bool": {"filter": {"term": {"username": "alice"}}, "should": [{"term": {"name": "none"}}],
               "minimum_should_match": 1}}, []),
    ({"bool": {}}, ["k1", "k2", "k3"]),
    ({"bool": {"must_not": [{"bool": {"should": [{"term": {"name": "ops"}}]}}]}}, ["k1", "k2"]),
])
def test_queries_match_as_elasticsearch_does(query: Any, expected: list[str]) -> None:
    assert matching(query) == expected


@pytest.mark.parametrize("query, error, reason", [
    ({"range": {"creation": {"gte": 1}}}, IllegalArgument, "Query type [range] is not supported for API Key query"),
    ({"term": {"metadata.x": "y"}}, IllegalArgument, "Field [metadata.x] is not allowed for querying or aggregation"),
    ({"prefix": {"creation": "1"}}, IllegalArgument, "Field [creation] is not allowed for querying or aggregation"),
    ({"bool": {"must": [{"wildcard": {"name": "a*"}}]}}, IllegalArgument,
     "Query type [wildcard] is not supported for API Key query"),
    ({"bool": {"must_match": []}}, ParseError, "[bool] query does not support [must_match]"),
    ({"term": {"name": "a", "id": "b"}}, ParseError, "[term] query requires exactly one field"),
    ({"term": {"name": {"value": "a", "boost": 2}}}, ParseError, "[term] query does not support [boost]"),
    ({"terms": {"name": "a"}}, ParseError, "[terms] query does not support [name] with a value that is not an array"),
    ({"match_all": {"x": 1}}, ParseError, "[match_all] query does not support [x]"),
    ({"term": {"creation": "soon"}}, IllegalArgument, "failed to parse ['soon'] as a value of field [creation]"),
    ({"term": {"name": "a"}, "prefix": {"name": "b"}}, ParseError,
     "[_na] query malformed, must start with start_object and hold exactly one query"),
])
def test_unknown_types_fields_and_options_are_refused_naming_them(query: Any, error: type[InferdError],
                                                                   reason: str) -> None:
    with pytest.raises(error) as refused:
        parse_query(query)
    assert refused.value.reason == reason and refused.value.status == 400


def test_a_query_is_bounded_in_depth_and_clauses() -> None:
    deep: dict[str, Any] = {"match_all": {}}
    for _ in range(MAX_DEPTH):
        deep = {"bool": {"must": [deep]}}
    with pytest.raises(IllegalArgument, match="nested depth of the query exceeds"):
        parse_query(deep)
    parse_query(deep["bool"]["must"][0])  # one level less is fine
    with pytest.raises(IllegalArgument, match=f"maxClauseCount is set to {MAX_CLAUSES}"):
        parse_query({"terms": {"name": [str(i) for i in range(MAX_CLAUSES)]}})
    with pytest.raises(IllegalArgument, match="too many nested clauses"):
        parse_query({"bool": {"should": [{"term": {"name": str(i)}} for i in range(MAX_CLAUSES)]}})


def test_sorting_in_every_form_with_missing_values_last_and_ties_in_creation_order() -> None:
    names = [record.name for record in sort_keys(KEYS, parse_sort("name:desc"))]
    assert names == ["ops", "app-b", "app-a"]
    assert [r.key_id for r in sort_keys(KEYS, parse_sort({"expiration": {"order": "asc"}}))] == ["k3", "k1", "k2"]
    assert [r.key_id for r in sort_keys(KEYS, parse_sort([{"expiration": "desc"}]))] == ["k1", "k3", "k2"]
    ties = [key("a", "same", creation=1), key("b", "same", creation=2), key("c", "other", creation=3)]
    keys = parse_sort(["name", {"creation": "desc"}])
    assert [r.key_id for r in sort_keys(ties, keys)] == ["c", "b", "a"]
    assert sort_values(ties[0], keys) == ["same", 1]
    assert parse_sort(None) == []


@pytest.mark.parametrize("sort, reason", [
    ("id", "Field [id] is not allowed for querying or aggregation"),
    ({"name": "up"}, "Unknown SortOrder [up]"),
    ({"name": {"order": "asc", "missing": "_first"}}, "[field_sort] unknown field [missing]"),
])
def test_unsortable_fields_and_orders_are_refused(sort: Any, reason: str) -> None:
    with pytest.raises(InferdError) as refused:
        parse_sort(sort)
    assert refused.value.reason == reason and refused.value.status == 400


def test_the_result_window_is_elasticsearchs() -> None:
    check_window(0, 10_000)
    with pytest.raises(IllegalArgument, match=r"\[from\] parameter cannot be negative but was \[-1\]"):
        check_window(-1, 10)
    with pytest.raises(IllegalArgument, match=r"\[size\] parameter cannot be negative"):
        check_window(0, -1)
    with pytest.raises(IllegalArgument, match=r"must be less than or equal to: \[10000\] but was \[10001\]"):
        check_window(1, 10_000)
