"""Every route and method, under every kind of credentials, answers exactly the status its privilege allows.

The expected statuses are written out by hand below; `test_the_table_covers_every_route` fails when the app
gains a route without a row. Inputs are chosen so that an authorized request has a meaningful answer of
its own: 404 means "authorized, no such model/deployment/node/user", 400 "authorized, body refused".
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from inferd.api.app import create_app
from inferd.settings import Settings
from tests.support.server import ServerProcess, http_for

M = "matrix-missing"
INFER = {"docs": [{"text_field": "x"}]}
USER = {"password": "secret1", "roles": []}

# Credentials, in the order of each row's statuses.
CREDENTIALS = ("none", "bad", "expired", "invalidated", "ml_user", "ml_admin", "superuser")
ANON = (200, 200, 200, 200, 200, 200, 200)  # anonymous routes ignore credentials, even refused ones
ANON_REDIRECT = (307, 307, 307, 307, 307, 307, 307)


def row(ml_user: int, ml_admin: int, superuser: int) -> tuple[int, ...]:
    return (401, 401, 401, 401, ml_user, ml_admin, superuser)


# (method, route path as the app declares it, concrete path, JSON body or None, expected statuses)
TABLE: list[tuple[str, str, str, Any, tuple[int, ...]]] = [
    ("GET", "/", "/", None, row(403, 403, 200)),
    ("HEAD", "/", "/", None, row(403, 403, 200)),
    ("GET", "/_inferd/health", "/_inferd/health", None, ANON),
    ("GET", "/_inferd/ready", "/_inferd/ready", None, ANON),
    ("GET", "/_inferd/metrics", "/_inferd/metrics", None, row(200, 200, 200)),
    ("GET", "/_inferd/docs", "/_inferd/docs", None, row(200, 200, 200)),
    ("GET", "/_inferd/openapi.json", "/_inferd/openapi.json", None, row(200, 200, 200)),
    ("GET", "/_inferd/nodes", "/_inferd/nodes", None, row(200, 200, 200)),
    ("POST", "/_inferd/nodes/{node_id}/_fail", "/_inferd/nodes/no-such-node/_fail", None, row(403, 404, 404)),
    ("POST", "/_inferd/nodes/{node_id}/_recover", "/_inferd/nodes/no-such-node/_recover", None, row(403, 404, 404)),
    ("GET", "/_inferd/deployments/{deployment_id}/workers", f"/_inferd/deployments/{M}/workers", None, row(404, 404, 404)),
    ("GET", "/_inferd/deployments/{deployment_id}/events", f"/_inferd/deployments/{M}/events", None, row(404, 404, 404)),
    ("GET", "/_inferd/deployments", "/_inferd/deployments", None, row(200, 200, 200)),
    ("GET", "/_inferd/deployments/{deployment_id}", f"/_inferd/deployments/{M}", None, row(404, 404, 404)),
    ("GET", "/_inferd/deployments/{deployment_id}/history", f"/_inferd/deployments/{M}/history", None,
     row(404, 404, 404)),
    ("POST", "/_inferd/deployments/{deployment_id}/_redeploy", f"/_inferd/deployments/{M}/_redeploy", {},
     row(403, 404, 404)),
    ("POST", "/_inferd/deployments/{deployment_id}/_rollback", f"/_inferd/deployments/{M}/_rollback", {},
     row(403, 404, 404)),
    ("POST", "/_inferd/deployments/{deployment_id}/_restart", f"/_inferd/deployments/{M}/_restart", {},
     row(403, 404, 404)),
    ("POST", "/_inferd/deployments/{deployment_id}/_stop", f"/_inferd/deployments/{M}/_stop", None,
     row(403, 404, 404)),
    ("POST", "/_inferd/deployments/{deployment_id}/_start", f"/_inferd/deployments/{M}/_start", None,
     row(403, 404, 404)),
    ("PUT", "/_inferd/models/{model_id}/builds", f"/_inferd/models/{M}/builds", None, row(403, 404, 404)),
    ("GET", "/_inferd/models/{model_id}/builds", f"/_inferd/models/{M}/builds", None, row(404, 404, 404)),
    ("GET", "/_inferd/models/{model_id}/builds/{build}", f"/_inferd/models/{M}/builds/2", None, row(404, 404, 404)),
    ("PUT", "/_inferd/models/{model_id}/builds/{build}/definition/{part}", f"/_inferd/models/{M}/builds/2/definition/0",
     {"definition": "AAAA", "total_definition_length": 3, "total_parts": 1}, row(403, 404, 404)),
    ("PUT", "/_inferd/models/{model_id}/builds/{build}/vocabulary", f"/_inferd/models/{M}/builds/2/vocabulary",
     {"vocabulary": ["a"]}, row(403, 404, 404)),
    ("POST", "/_inferd/models/{model_id}/builds/{build}/_set_default", f"/_inferd/models/{M}/builds/2/_set_default",
     None, row(403, 404, 404)),
    ("DELETE", "/_inferd/models/{model_id}/builds/{build}", f"/_inferd/models/{M}/builds/2", None, row(403, 404, 404)),
    ("PUT", "/_ml/trained_models/{model_id}", f"/_ml/trained_models/{M}", {}, row(403, 400, 400)),
    ("PUT", "/_ml/trained_models/{model_id}/definition/{part}", f"/_ml/trained_models/{M}/definition/0",
     {"definition": "AAAA", "total_definition_length": 3, "total_parts": 1}, row(403, 404, 404)),
    ("PUT", "/_ml/trained_models/{model_id}/vocabulary", f"/_ml/trained_models/{M}/vocabulary",
     {"vocabulary": ["a"]}, row(403, 404, 404)),
    ("GET", "/_ml/trained_models", "/_ml/trained_models", None, row(200, 200, 200)),
    ("GET", "/_ml/trained_models/{model_id}", f"/_ml/trained_models/{M}", None, row(404, 404, 404)),
    ("GET", "/_ml/trained_models/_stats", "/_ml/trained_models/_stats", None, row(200, 200, 200)),
    ("GET", "/_ml/trained_models/{model_id}/_stats", f"/_ml/trained_models/{M}/_stats", None, row(404, 404, 404)),
    ("DELETE", "/_ml/trained_models/{model_id}", f"/_ml/trained_models/{M}", None, row(403, 404, 404)),
    ("PUT", "/_ml/trained_models/{model_id}/model_aliases/{model_alias}",
     f"/_ml/trained_models/{M}/model_aliases/{M}-alias", None, row(403, 404, 404)),
    ("DELETE", "/_ml/trained_models/{model_id}/model_aliases/{model_alias}",
     f"/_ml/trained_models/{M}/model_aliases/{M}-alias", None, row(403, 404, 404)),
    ("POST", "/_ml/trained_models/{model_id}/deployment/_start", f"/_ml/trained_models/{M}/deployment/_start", None, row(403, 404, 404)),
    ("POST", "/_ml/trained_models/{model_id}/deployment/_update", f"/_ml/trained_models/{M}/deployment/_update",
     {"number_of_allocations": 1}, row(403, 404, 404)),
    ("POST", "/_ml/trained_models/{model_id}/deployment/_stop", f"/_ml/trained_models/{M}/deployment/_stop", None, row(403, 200, 200)),  # stopping what does not run is not an error
    ("POST", "/_ml/trained_models/{model_id}/deployment/cache/_clear",
     f"/_ml/trained_models/{M}/deployment/cache/_clear", None, row(403, 404, 404)),
    ("POST", "/_ml/trained_models/{model_id}/_infer", f"/_ml/trained_models/{M}/_infer", INFER, row(404, 404, 404)),
    ("POST", "/_ml/trained_models/{model_id}/deployment/_infer", f"/_ml/trained_models/{M}/deployment/_infer", INFER, row(404, 404, 404)),
    ("POST", "/_security/api_key", "/_security/api_key", {"name": "matrix"}, row(403, 403, 200)),
    ("PUT", "/_security/api_key", "/_security/api_key", {"name": "matrix"}, row(403, 403, 200)),
    ("GET", "/_security/api_key", "/_security/api_key", None, row(403, 403, 200)),
    ("DELETE", "/_security/api_key", "/_security/api_key", {"ids": ["no-such-key"]}, row(403, 403, 200)),
    # an API key may not update keys (Elasticsearch's rule): the superuser key is authorized, and refused with 400
    ("PUT", "/_security/api_key/{id}", "/_security/api_key/no-such-key", {}, row(403, 403, 400)),
    ("POST", "/_security/_query/api_key", "/_security/_query/api_key", {"query": {"match_all": {}}},
     row(403, 403, 200)),
    ("GET", "/_security/_query/api_key", "/_security/_query/api_key", None, row(403, 403, 200)),
    ("GET", "/_security/_authenticate", "/_security/_authenticate", None, row(200, 200, 200)),
    ("PUT", "/_security/user/{username}", "/_security/user/matrix-user", USER, row(403, 403, 200)),
    ("POST", "/_security/user/{username}", "/_security/user/matrix-user", USER, row(403, 403, 200)),
    ("GET", "/_security/user", "/_security/user", None, row(403, 403, 200)),
    ("GET", "/_security/user/{username}", "/_security/user/no-such-user", None, row(403, 403, 404)),
    ("DELETE", "/_security/user/{username}", "/_security/user/no-such-user", None, row(403, 403, 404)),
    # the inference privileges: manage_ml and monitor_ml grant none of them (as in Elasticsearch)
    ("PUT", "/_inference/{task_type}/{inference_id}", f"/_inference/text_embedding/{M}", {}, row(403, 403, 400)),
    ("PUT", "/_inference/{inference_id}/_update", f"/_inference/{M}/_update", {}, row(403, 403, 404)),
    ("PUT", "/_inference/{task_type}/{inference_id}/_update", f"/_inference/rerank/{M}/_update", {},
     row(403, 403, 404)),
    ("GET", "/_inference", "/_inference", None, row(403, 403, 200)),
    ("GET", "/_inference/{inference_id}", f"/_inference/{M}", None, row(403, 403, 404)),
    ("GET", "/_inference/{task_type}/{inference_id}", f"/_inference/rerank/{M}", None, row(403, 403, 404)),
    ("POST", "/_inference/{inference_id}", f"/_inference/{M}", {"input": "x"}, row(403, 403, 404)),
    ("POST", "/_inference/{task_type}/{inference_id}", f"/_inference/rerank/{M}", {"input": "x"},
     row(403, 403, 404)),
    ("DELETE", "/_inference/{inference_id}", f"/_inference/{M}", None, row(403, 403, 404)),
    ("DELETE", "/_inference/{task_type}/{inference_id}", f"/_inference/rerank/{M}", None, row(403, 403, 404)),
    # the ingest privileges: manage_ingest_pipelines and read_pipeline, which the ML ones do not grant
    ("PUT", "/_ingest/pipeline/{pipeline_id}", f"/_ingest/pipeline/{M}", {}, row(403, 403, 400)),
    ("GET", "/_ingest/pipeline", "/_ingest/pipeline", None, row(403, 403, 200)),
    ("GET", "/_ingest/pipeline/{pipeline_id}", f"/_ingest/pipeline/{M}", None, row(403, 403, 404)),
    ("DELETE", "/_ingest/pipeline/{pipeline_id}", f"/_ingest/pipeline/{M}", None, row(403, 403, 404)),
    ("POST", "/_ingest/pipeline/_simulate", "/_ingest/pipeline/_simulate",
     {"pipeline": {"processors": []}, "docs": []}, row(403, 403, 200)),
    ("POST", "/_ingest/pipeline/{pipeline_id}/_simulate", f"/_ingest/pipeline/{M}/_simulate", {"docs": []},
     row(403, 403, 404)),
    ("POST", "/_inferd/ingest/pipeline/{pipeline_id}/_enrich", f"/_inferd/ingest/pipeline/{M}/_enrich", None,
     row(403, 403, 404)),
    ("GET", "/_cat/ml/trained_models", "/_cat/ml/trained_models", None, row(200, 200, 200)),
    ("GET", "/_cat/ml/trained_models/{model_id}", f"/_cat/ml/trained_models/{M}", None, row(404, 404, 404)),
    ("GET", "/_ml/memory/_stats", "/_ml/memory/_stats", None, row(200, 200, 200)),
    ("GET", "/_ml/memory/{node_id}/_stats", "/_ml/memory/no-such-node/_stats", None, row(200, 200, 200)),
    ("GET", "/_ml/info", "/_ml/info", None, row(200, 200, 200)),
    # OpenAI's and TEI's routes: `_infer`'s privilege, answered in their own error shapes
    ("POST", "/v1/embeddings", "/v1/embeddings", {"model": M, "input": "x"}, row(404, 404, 404)),
    ("GET", "/v1/models", "/v1/models", None, row(200, 200, 200)),
    ("GET", "/v1/models/{model}", f"/v1/models/{M}", None, row(404, 404, 404)),
    ("POST", "/embed", "/embed", {"inputs": "x"}, row(422, 422, 422)),
    ("POST", "/embed_sparse", "/embed_sparse", {"inputs": "x"}, row(422, 422, 422)),
    ("POST", "/rerank", "/rerank", {"query": "q", "texts": ["x"]}, row(422, 422, 422)),
    ("GET", "/info", "/info", None, row(422, 422, 422)),
    # The web console: its page and assets hold no data; signing in takes any valid credentials (what they may do
    # is each route's own privilege); the live feed reads what `_stats` shows (`samples` ends the stream).
    ("GET", "/_inferd/console", "/_inferd/console", None, ANON_REDIRECT),
    ("GET", "/_inferd/console/", "/_inferd/console/", None, ANON),
    ("GET", "/_inferd/console/assets/{name:path}", "/_inferd/console/assets/console.css", None, ANON),
    ("POST", "/_inferd/console/session", "/_inferd/console/session", None, row(200, 200, 200)),
    ("GET", "/_inferd/console/session", "/_inferd/console/session", None, row(200, 200, 200)),
    ("DELETE", "/_inferd/console/session", "/_inferd/console/session", None, row(200, 200, 200)),
    ("GET", "/_inferd/console/live", "/_inferd/console/live?samples=1", None, row(200, 200, 200)),
]


def test_the_table_covers_every_route(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    declared = {(method, route.path) for route in app.state.api_routes for method in route.methods}
    covered = {(method, route_path) for method, route_path, _, _, _ in TABLE}
    assert len(covered) == len(TABLE), "one row per route and method"
    assert declared == covered, {"without a row": declared - covered, "rows without a route": covered - declared}


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("matrix") / "data", extra_env={"INFERD_PROCESSORS": "2"}).start()
    yield server
    server.stop()


def _create_key(http: httpx.Client, name: str, **body: Any) -> dict[str, Any]:
    response = http.post("/_security/api_key", json={"name": name, **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def headers(matrix_server: ServerProcess) -> dict[str, dict[str, str]]:
    with http_for(matrix_server.url) as http:
        expired = _create_key(http, "matrix-expired", expiration="1s")
        invalidated = _create_key(http, "matrix-invalidated")
        assert http.request("DELETE", "/_security/api_key", json={"ids": [invalidated["id"]]}).status_code == 200
        ml_user = _create_key(http, "matrix-ml-user", role_descriptors={
            "machine_learning_user": {"cluster": ["monitor_ml"]}})
        ml_admin = _create_key(http, "matrix-ml-admin", role_descriptors={
            "machine_learning_admin": {"cluster": ["manage_ml"]}})
        time.sleep(max(0.0, expired["expiration"] / 1000 - time.time() + 0.05))  # at most a second
    bad = base64.b64encode(b"no-such-key:no-such-secret").decode()
    return {
        "none": {},
        "bad": {"Authorization": f"ApiKey {bad}"},
        "expired": {"Authorization": f"ApiKey {expired['encoded']}"},
        "invalidated": {"Authorization": f"ApiKey {invalidated['encoded']}"},
        "ml_user": {"Authorization": f"ApiKey {ml_user['encoded']}"},
        "ml_admin": {"Authorization": f"ApiKey {ml_admin['encoded']}"},
        "superuser": {"Authorization": f"ApiKey {matrix_server.admin_key}"},
    }


def assert_refusal_shape(path: str, body: dict[str, Any]) -> None:
    """Elasticsearch's security exception, or the OpenAI or TEI route's own error shape."""
    if path.startswith("/v1/"):
        assert set(body["error"]) == {"message", "type", "param", "code"}
    elif path in ("/embed", "/embed_sparse", "/rerank", "/info"):
        assert set(body) == {"error", "error_type"}
    else:
        assert body["error"]["type"] == "security_exception"


@pytest.mark.parametrize("method, route_path, path, body, statuses", TABLE, ids=[f"{r[0]} {r[1]}" for r in TABLE])
def test_route_statuses(matrix_server: ServerProcess, headers: dict[str, dict[str, str]], method: str,
                        route_path: str, path: str, body: Any, statuses: tuple[int, ...]) -> None:
    expected = dict(zip(CREDENTIALS, statuses, strict=True))
    seen = {}
    with http_for(matrix_server.url, authenticated=False) as http:
        for credentials in CREDENTIALS:
            response = http.request(method, path, json=body, headers=headers[credentials])
            seen[credentials] = response.status_code
            if response.status_code in (401, 403) and method != "HEAD":
                assert_refusal_shape(path, response.json())
            if response.status_code == 401:
                assert response.headers.get_list("www-authenticate") == [
                    'Basic realm="security" charset="UTF-8"', "ApiKey"]
    assert seen == expected
