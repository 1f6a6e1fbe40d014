"""Every `_infer` request takes the one inference path: both routes, whatever the query string."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from inferd.api.inference import INFER_PATH, _timeout_parameter
from inferd.errors import IllegalArgument


def request(query: bytes) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/_ml/trained_models/m/_infer", "query_string": query,
                    "headers": []})


def test_both_routes_of_one_model_are_the_inference_path() -> None:
    plain = INFER_PATH.fullmatch("/_ml/trained_models/my-model/_infer")
    deprecated = INFER_PATH.fullmatch("/_ml/trained_models/my-model/deployment/_infer")
    assert plain is not None and plain.groups() == ("my-model", None)
    assert deprecated is not None and deprecated.group(1) == "my-model" and deprecated.group(2)
    assert INFER_PATH.fullmatch("/_ml/trained_models//_infer") is None
    assert INFER_PATH.fullmatch("/_ml/trained_models/my-model/deployment/_start") is None


@pytest.mark.parametrize(("query", "timeout"), [
    (b"", None),
    (b"timeout=5s", "5s"),
    (b"timeout=", ""),
    (b"pretty&human=true&error_trace&filter_path=inference_results", None),  # every route takes those
    (b"timeout=5s&timeout=6s", "6s"),  # the last one, as a query parser keeps it
])
def test_the_timeout_and_the_common_parameters_are_taken(query: bytes, timeout: str | None) -> None:
    assert _timeout_parameter(request(query)) == timeout


def test_an_unknown_parameter_is_refused_naming_the_one_it_resembles() -> None:
    with pytest.raises(IllegalArgument) as refused:
        _timeout_parameter(request(b"timout=5s&pretty"))
    assert refused.value.reason == (
        "request [/_ml/trained_models/m/_infer] contains unrecognized parameter: [timout] -> did you mean [timeout]?")
