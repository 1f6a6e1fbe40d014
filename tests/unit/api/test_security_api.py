"""The security APIs and Elasticsearch's 401/403 bodies, against the app in process (no server process)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from inferd.api.app import create_app
from inferd.settings import Settings

CHALLENGES = ['Basic realm="security" charset="UTF-8"', "ApiKey"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, processors=1, ml_memory="1gb"))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"ApiKey {(tmp_path / 'admin-api-key').read_text().strip()}"
        yield client


def key(client: TestClient, name: str, **body: Any) -> str:
    response = client.post("/_security/api_key", json={"name": name, **body})
    assert response.status_code == 200, response.text
    return f"ApiKey {response.json()['encoded']}"


def test_401_is_elasticsearchs(client: TestClient) -> None:
    response = client.get("/_ml/trained_models/x/_stats?pretty", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == CHALLENGES
    assert response.headers["x-elastic-product"] == "Elasticsearch"
    reason = "missing authentication credentials for REST request [/_ml/trained_models/x/_stats?pretty]"
    cause = {"type": "security_exception", "reason": reason, "header": {"WWW-Authenticate": CHALLENGES}}
    assert response.json() == {"error": {"root_cause": [cause], **cause}, "status": 401}


def test_anonymous_routes_need_no_credentials(client: TestClient) -> None:
    for path in ("/_inferd/health", "/_inferd/ready"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200
    # an unknown route is not a way around authentication
    assert client.get("/nope", headers={"Authorization": ""}).status_code == 401


def test_403_names_the_action_and_the_privileges_that_grant_it(client: TestClient) -> None:
    user = key(client, "ml-user", role_descriptors={"machine_learning_user": {"cluster": ["monitor_ml"]}})
    key_id = client.get("/_security/api_key", params={"name": "ml-user"}).json()["api_keys"][0]["id"]
    response = client.put("/_ml/trained_models/m", json={}, headers={"Authorization": user})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "security_exception"
    assert response.json()["error"]["reason"] == (
        f"action [cluster:admin/xpack/ml/inference/put] is unauthorized for API key id [{key_id}] of user [elastic], "
        "this action is granted by the cluster privileges [manage_ml,manage,all]")
    client.put("/_security/user/alice", json={"password": "secret1", "roles": ["machine_learning_admin", "ghost"]})
    response = client.get("/", auth=("alice", "secret1"))
    assert response.json()["error"]["reason"] == (
        "action [cluster:monitor/main] is unauthorized for user [alice] with effective roles [machine_learning_admin] "
        "(assigned roles [ghost] were not found), this action is granted by the cluster privileges [monitor,manage,all]")


def test_create_get_invalidate_and_authenticate(client: TestClient) -> None:
    created = client.put("/_security/api_key", json={"name": "app", "expiration": "1d", "metadata": {"team": "a"},
                                                      "role_descriptors": {"r": {"cluster": ["monitor_ml"]}}}).json()
    assert set(created) == {"id", "name", "expiration", "api_key", "encoded"}
    (listed,) = client.get("/_security/api_key", params={"id": created["id"]}).json()["api_keys"]
    assert listed == {"id": created["id"], "name": "app", "type": "rest", "creation": listed["creation"],
                      "expiration": created["expiration"], "invalidated": False, "username": "elastic",
                      "realm": "reserved", "realm_type": "reserved", "metadata": {"team": "a"},
                      "role_descriptors": {"r": {"cluster": ["monitor_ml"]}}}
    assert created["expiration"] - listed["creation"] == 86_400_000
    me = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {created['encoded']}"}).json()
    assert me == {"username": "elastic", "roles": [], "full_name": None, "email": None, "metadata": {},
                  "enabled": True, "authentication_realm": {"name": "_es_api_key", "type": "_es_api_key"},
                  "lookup_realm": {"name": "_es_api_key", "type": "_es_api_key"}, "authentication_type": "api_key",
                  "api_key": {"id": created["id"], "name": "app"}}
    answer = client.request("DELETE", "/_security/api_key", json={"ids": [created["id"]]}).json()
    assert answer == {"invalidated_api_keys": [created["id"]], "previously_invalidated_api_keys": [], "error_count": 0}
    assert client.get("/_security/_authenticate",
                      headers={"Authorization": f"ApiKey {created['encoded']}"}).status_code == 401
    assert client.get("/_security/api_key", params={"active_only": "true", "name": "app"}).json() == {"api_keys": []}


def test_request_validation_is_elasticsearchs(client: TestClient) -> None:
    response = client.post("/_security/api_key", json={})
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "Validation Failed: 1: api key name is required;"
    response = client.request("DELETE", "/_security/api_key", json={})
    assert response.json()["error"]["reason"] == (
        "Validation Failed: 1: One of [api key id(s), api key name, username, realm name] must be specified if "
        "[owner] flag is false;")
    response = client.post("/_security/api_key", json={"name": "x", "role_descriptors": {"r": {"cluster": ["root"]}}})
    assert response.status_code == 400 and "unknown cluster privilege [root]" in response.json()["error"]["reason"]


def test_a_key_never_carries_more_than_its_creator(client: TestClient) -> None:
    client.put("/_security/user/ml-admin", json={"password": "secret1", "roles": ["machine_learning_admin"]})
    response = client.post("/_security/api_key", json={"name": "su", "role_descriptors": {"s": {"cluster": ["all"]}}},
                           auth=("ml-admin", "secret1"))
    assert response.status_code == 403
    assert "is unauthorized for user [ml-admin]" in response.json()["error"]["reason"]
    # a key that may create keys still cannot create one beyond its own privileges
    minter = key(client, "minter", role_descriptors={"m": {"cluster": ["manage_own_api_key", "monitor_ml"]}})
    response = client.post("/_security/api_key", headers={"Authorization": minter},
                           json={"name": "su", "role_descriptors": {"s": {"cluster": ["all"]}}})
    assert response.status_code == 403 and response.json()["error"]["type"] == "security_exception"
    assert "cannot create an API key with more privileges than" in response.json()["error"]["reason"]
    response = client.post("/_security/api_key", headers={"Authorization": minter},
                           json={"name": "reader", "role_descriptors": {"s": {"cluster": ["monitor_ml"]}}})
    assert response.status_code == 200
    # an owner-only key manager sees only its own keys
    assert [k["name"] for k in client.get("/_security/api_key", headers={"Authorization": minter}).json()[
        "api_keys"]] == ["minter"]


def test_users(client: TestClient) -> None:
    assert client.put("/_security/user/bob", json={"password": "secret1", "roles": ["machine_learning_user"],
                                                    "full_name": "Bob"}).json() == {"created": True}
    assert client.get("/_security/user/bob").json() == {"bob": {
        "username": "bob", "roles": ["machine_learning_user"], "full_name": "Bob", "email": None, "metadata": {},
        "enabled": True}}
    me = client.get("/_security/_authenticate", auth=("bob", "secret1")).json()
    assert me["authentication_realm"] == {"name": "default_native", "type": "native"}
    assert me["authentication_type"] == "realm" and me["roles"] == ["machine_learning_user"]
    assert client.request("DELETE", "/_security/user/bob").json() == {"found": True}
    assert client.request("DELETE", "/_security/user/bob").status_code == 404
    assert client.get("/_security/user/bob").status_code == 404


def test_no_security_serves_without_credentials(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, security_enabled=False, processors=1, ml_memory="1gb"))
    with TestClient(app) as client:
        assert client.get("/").status_code == 200 and client.get("/_inferd/nodes").status_code == 200
        response = client.get("/_security/_authenticate")
        assert response.status_code == 500 and "Security must be explicitly enabled" in response.text


def test_update_api_key_replaces_what_is_given_and_answers_whether_anything_changed(client: TestClient) -> None:
    client.put("/_security/user/owner", json={"password": "secret1", "roles": ["superuser"]})
    owner = ("owner", "secret1")
    created = client.post("/_security/api_key", auth=owner, json={
        "name": "scoped", "metadata": {"team": "a"}, "role_descriptors": {"r": {"cluster": ["monitor_ml"]}}}).json()
    path = f"/_security/api_key/{created['id']}"
    assert client.put(path, auth=owner).json() == {"updated": False}  # no body: nothing to change
    assert client.put(path, auth=owner, json={"metadata": {"team": "a"}}).json() == {"updated": False}
    assert client.put(path, auth=owner, json={"metadata": {"team": "b"}, "expiration": "1d",
                                              "role_descriptors": {"w": {"cluster": ["manage_ml"]}}}).json() == {
        "updated": True}
    (listed,) = client.get("/_security/api_key", params={"id": created["id"]}).json()["api_keys"]
    assert listed["metadata"] == {"team": "b"} and listed["role_descriptors"] == {"w": {"cluster": ["manage_ml"]}}
    assert listed["expiration"] - listed["creation"] >= 86_400_000
    # the key's new scope holds at once: it may now change models (404: authorized, no such model)
    assert client.delete("/_ml/trained_models/nope", headers={"Authorization": f"ApiKey {created['encoded']}"}
                         ).status_code == 404
    # `{}` removes the descriptors: the key has its owner's privileges again
    assert client.put(path, auth=owner, json={"role_descriptors": {}}).json() == {"updated": True}
    assert client.get("/", headers={"Authorization": f"ApiKey {created['encoded']}"}).status_code == 200


def test_update_api_key_refuses_keys_escalation_and_what_cannot_change(client: TestClient) -> None:
    client.put("/_security/user/minter", json={"password": "secret1", "roles": ["superuser"]})
    minter = ("minter", "secret1")
    own = client.post("/_security/api_key", auth=minter, json={"name": "own"}).json()
    path = f"/_security/api_key/{own['id']}"
    # a key may not update keys, not even itself (Elasticsearch's rule)
    response = client.put(path, json={}, headers={"Authorization": f"ApiKey {own['encoded']}"})
    assert response.status_code == 400 and response.json()["error"]["reason"] == (
        "authentication via API key not supported: only the owner user can update an API key")
    # another user's key, or none, is not found
    client.put("/_security/user/other", json={"password": "secret1", "roles": ["superuser"]})
    for other_path, auth in ((path, ("other", "secret1")), ("/_security/api_key/no-such-key", minter)):
        response = client.put(other_path, json={}, auth=auth)
        assert response.status_code == 404 and response.json()["error"]["type"] == "resource_not_found_exception"
    assert response.json()["error"]["reason"] == "no API key owned by requesting user found for ID [no-such-key]"
    # an owner that lost `superuser` may no longer manage its keys at all
    client.put("/_security/user/minter", json={"password": "secret1", "roles": ["machine_learning_admin"]})
    response = client.put(path, json={"role_descriptors": {"s": {"cluster": ["all"]}}}, auth=minter)
    assert response.status_code == 403 and "api_key/update] is unauthorized for user [minter]" in (
        response.json()["error"]["reason"])
    client.put("/_security/user/minter", json={"password": "secret1", "roles": ["superuser"]})
    response = client.put(path, json={"role_descriptors": {"r": {"cluster": ["root"]}}}, auth=minter)
    assert response.status_code == 400 and "unknown cluster privilege [root]" in response.json()["error"]["reason"]
    response = client.put(path, json={"name": "renamed"}, auth=minter)
    assert response.status_code == 400 and "unknown field [name]" in response.json()["error"]["reason"]
    client.request("DELETE", "/_security/api_key", json={"ids": [own["id"]]})
    response = client.put(path, json={}, auth=minter)
    assert response.status_code == 400 and response.json()["error"] == {
        "root_cause": [{"type": "illegal_argument_exception", "reason": f"cannot update invalidated API key [{own['id']}]"}],
        "type": "illegal_argument_exception", "reason": f"cannot update invalidated API key [{own['id']}]"}


def test_query_api_keys_pages_sorts_and_sees_only_owned_keys_without_manage_api_key(client: TestClient) -> None:
    for name in ("q-b", "q-a", "q-c"):
        key(client, name)
    answer = client.post("/_security/_query/api_key", json={
        "query": {"bool": {"must": [{"prefix": {"name": "q-"}}], "must_not": [{"term": {"name": "q-c"}}]}},
        "sort": [{"name": {"order": "desc"}}], "from": 0, "size": 1}).json()
    assert answer["total"] == 2 and answer["count"] == 1
    (first,) = answer["api_keys"]
    assert first["name"] == "q-b" and first["_sort"] == ["q-b"] and first["type"] == "rest"
    assert client.get("/_security/_query/api_key").json()["total"] == 4  # the admin key too; no body is match_all
    minter = key(client, "q-minter", role_descriptors={"m": {"cluster": ["manage_own_api_key"]}})
    own = client.post("/_security/_query/api_key", headers={"Authorization": minter}, json={}).json()
    assert [k["name"] for k in own["api_keys"]] == ["q-minter"] and own["total"] == 1
    response = client.post("/_security/_query/api_key", json={"query": {"match": {"name": "q-a"}}})
    assert response.status_code == 400 and response.json()["error"]["reason"] == (
        "Query type [match] is not supported for API Key query")
    response = client.post("/_security/_query/api_key", json={"aggs": {}})
    assert response.status_code == 400 and "unknown field [aggs]" in response.json()["error"]["reason"]
