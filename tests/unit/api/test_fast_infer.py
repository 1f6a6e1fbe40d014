"""Which `_infer` requests the fast path takes: the plain form only; anything else goes through FastAPI."""

from __future__ import annotations

import pytest

from inferd.api.middleware.fast_infer import INFER_PATH, plain_timeout


@pytest.mark.parametrize(("query", "expected"), [
    (b"", (True, None)),
    (b"timeout=5s", (True, "5s")),
    (b"timeout=", (True, "")),
    (b"pretty", (False, None)),  # formatted answers, filter_path, error_trace: FastAPI's route
    (b"timeout=5s&timeout=6s", (False, None)),
    (b"timeout=5s&filter_path=inference_results", (False, None)),
    (b"timout=5s", (False, None)),  # the route names the unknown parameter
])
def test_only_a_query_with_at_most_one_timeout_is_plain(query: bytes, expected: tuple[bool, str | None]) -> None:
    assert plain_timeout(query) == expected


def test_the_path_is_the_infer_route_of_one_model() -> None:
    assert INFER_PATH.fullmatch("/_ml/trained_models/my-model/_infer").group(1) == "my-model"  # type: ignore[union-attr]
    assert INFER_PATH.fullmatch("/_ml/trained_models/my-model/deployment/_infer") is None  # deprecated: FastAPI's
    assert INFER_PATH.fullmatch("/_ml/trained_models//_infer") is None
