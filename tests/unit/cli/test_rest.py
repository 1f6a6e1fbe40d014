"""One request path to inferd's routes, and every failure as the CLI's message and exit code."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from inferd.cli.rest import EXIT_TIMEOUT, call, failures_reported, inferd_path, reason


def api_error(status: int, body: Any) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("ApiError", meta, body)


def exit_code(error: Exception) -> int:
    with pytest.raises(typer.Exit) as exited:
        with failures_reported():
            raise error
    return exited.value.exit_code


def test_refusals_exit_1_with_the_servers_reason(capsys: pytest.CaptureFixture[str]) -> None:
    conflict = api_error(409, {"error": {"type": "status_exception", "reason": "a rollout of [d] is in progress"}})
    assert exit_code(conflict) == 1
    assert "the server answered 409: a rollout of [d] is in progress" in capsys.readouterr().err
    assert exit_code(ConnectionError("refused")) == 1
    assert "cannot reach the server" in capsys.readouterr().err


def test_a_wait_the_server_timed_out_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    timed_out = api_error(408, {"error": {"reason": "Timed out after [1s] waiting for deployment [d] to start"}})
    assert exit_code(timed_out) == EXIT_TIMEOUT
    captured = capsys.readouterr()
    assert captured.out == "" and "Timed out after [1s]" in captured.err and "goes on" in captured.err


def test_the_reason_falls_back_to_the_clients_message() -> None:
    assert reason(api_error(500, "not json")) == "ApiError"
    assert reason(api_error(500, {"error": "flat"})) == "ApiError"


def test_ids_are_quoted_path_segments() -> None:
    assert inferd_path("models", "my.model", "builds", 2) == "/_inferd/models/my.model/builds/2"
    assert inferd_path("deployments", "a/b?c", "_stop") == "/_inferd/deployments/a%2Fb%3Fc/_stop"


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def perform_request(self, method: str, path: str, **options: Any) -> Any:
        self.calls.append((method, path, options))
        return type("Response", (), {"body": {"ok": True}})()


def test_a_call_sends_json_only_with_a_body() -> None:
    es = RecordingClient()
    assert call(es, "GET", "/_inferd/deployments") == {"ok": True}  # type: ignore[arg-type]
    call(es, "POST", "/_inferd/deployments/d/_restart", params={"wait_for": "none"}, body={"allow_downtime": True})  # type: ignore[arg-type]
    (_, _, get), (_, _, post) = es.calls
    assert get["headers"] == {"accept": "application/json"} and get["body"] is None
    assert post["headers"]["content-type"] == "application/json" and post["params"] == {"wait_for": "none"}
