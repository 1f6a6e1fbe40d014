"""Security end to end: the real elasticsearch client with `api_key=` and `basic_auth=`, over TLS too; keys that
stop working at once; escalation refused; `--no-security` refused off loopback; the first start's admin key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import elasticsearch
import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.support.server import ServerProcess, client_for, http_for
from tests.support.tls import self_signed_certificate


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[Path, Path]) -> Iterator[ServerProcess]:
    cert, key = tls_files
    server = ServerProcess(tmp_path_factory.mktemp("tls-server") / "data", scheme="https",
                           extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
                           extra_env={"INFERD_PROCESSORS": "2"}).start()
    yield server
    server.stop()


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inferd", *args], capture_output=True, text=True, timeout=120,
                          input=stdin, env={**os.environ, "INFERD_API_KEY": ""})


def test_the_official_client_with_api_key_and_basic_auth(es: Elasticsearch, server: ServerProcess) -> None:
    created = es.security.create_api_key(name="client-forms", role_descriptors={
        "machine_learning_user": {"cluster": ["monitor_ml"]}})
    for api_key in (created["encoded"], (created["id"], created["api_key"])):
        client = client_for(server.url, api_key=api_key)
        me = client.security.authenticate()
        assert me["authentication_type"] == "api_key" and me["api_key"]["id"] == created["id"]
        assert "trained_model_stats" in client.ml.get_trained_models_stats()
        with pytest.raises(elasticsearch.AuthorizationException) as refused:
            client.ml.put_trained_model(model_id="not-allowed", input={"field_names": ["text_field"]})
        assert refused.value.meta.status == 403
        assert "[cluster:admin/xpack/ml/inference/put] is unauthorized" in str(refused.value)
    es.security.put_user(username="client-forms-user", password="secret-1", roles=["machine_learning_admin"])
    user = client_for(server.url, basic_auth=("client-forms-user", "secret-1"))
    assert user.security.authenticate()["username"] == "client-forms-user"
    assert user.ml.get_trained_models()["count"] >= 0
    with pytest.raises(elasticsearch.AuthenticationException):
        client_for(server.url, basic_auth=("client-forms-user", "wrong-1")).security.authenticate()
    with pytest.raises(elasticsearch.AuthenticationException):
        client_for(server.url, api_key=None).ml.get_trained_models()


def test_tls_with_the_official_client(tls_server: ServerProcess, tls_files: tuple[Path, Path]) -> None:
    cert, _ = tls_files
    es = client_for(tls_server.url, ca_certs=str(cert))
    assert es.info()["version"]["number"].startswith("9.")
    es.security.put_user(username="tls-user", password="secret-1", roles=["machine_learning_user"])
    user = client_for(tls_server.url, ca_certs=str(cert), basic_auth=("tls-user", "secret-1"))
    assert user.security.authenticate()["authentication_realm"]["type"] == "native"
    with pytest.raises(elasticsearch.exceptions.ConnectionError):  # an unknown certificate is refused
        client_for(tls_server.url).info()
    listed = cli("keys", "list", "--url", tls_server.url, "--data-dir", str(tls_server.data_dir), "--ca-certs",
                 str(cert))
    assert listed.returncode == 0 and "inferd-admin" in listed.stdout, listed.stderr


def test_invalidated_and_expired_keys_stop_at_once(es: Elasticsearch, server: ServerProcess) -> None:
    created = es.security.create_api_key(name="short-lived")
    client = client_for(server.url, api_key=created["encoded"])
    assert client.security.authenticate()["api_key"]["id"] == created["id"]  # verified and cached now
    es.security.invalidate_api_key(ids=[created["id"]])
    with pytest.raises(elasticsearch.AuthenticationException) as refused:
        client.security.authenticate()
    assert refused.value.body["error"]["additional_unsuccessful_credentials"] == (
        f"API key: api key [{created['id']}] has been invalidated")

    expiring = es.security.create_api_key(name="expiring", expiration="1s")
    client = client_for(server.url, api_key=expiring["encoded"])
    assert client.security.authenticate()["api_key"]["name"] == "expiring"
    time.sleep(max(0.0, expiring["expiration"] / 1000 - time.time() + 0.05))
    with pytest.raises(elasticsearch.AuthenticationException) as refused:
        client.security.authenticate()
    assert refused.value.body["error"]["additional_unsuccessful_credentials"] == "API key: api key is expired"


def test_privilege_escalation_is_refused(es: Elasticsearch, server: ServerProcess) -> None:
    es.security.put_user(username="escalating-admin", password="secret-1", roles=["machine_learning_admin"])
    admin = client_for(server.url, basic_auth=("escalating-admin", "secret-1"))
    with pytest.raises(elasticsearch.AuthorizationException) as refused:
        admin.security.create_api_key(name="su", role_descriptors={"superuser": {"cluster": ["all"]}})
    assert refused.value.meta.status == 403
    assert refused.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/security/api_key/create] is unauthorized for user [escalating-admin] with "
        "effective roles [machine_learning_admin], this action is granted by the cluster privileges "
        "[manage_own_api_key,manage_api_key,manage_security,all]")
    minter = es.security.create_api_key(name="minter", role_descriptors={
        "minter": {"cluster": ["manage_own_api_key", "manage_ml"]}})
    with pytest.raises(elasticsearch.AuthorizationException) as refused:
        client_for(server.url, api_key=minter["encoded"]).security.create_api_key(
            name="su", role_descriptors={"superuser": {"cluster": ["all"]}})
    assert "cannot create an API key with more privileges than" in refused.value.body["error"]["reason"]


def test_update_and_query_api_keys_with_the_official_client(es: Elasticsearch, server: ServerProcess) -> None:
    es.security.put_user(username="key-owner", password="secret-1", roles=["superuser"])
    owner = client_for(server.url, basic_auth=("key-owner", "secret-1"))
    created = owner.security.create_api_key(name="updatable", role_descriptors={
        "machine_learning_user": {"cluster": ["monitor_ml"]}})
    key = client_for(server.url, api_key=created["encoded"])
    with pytest.raises(elasticsearch.AuthorizationException):
        key.ml.put_trained_model(model_id="not-yet", input={"field_names": ["text_field"]})
    assert owner.security.update_api_key(id=created["id"], metadata={"env": "test"}, expiration="1d", role_descriptors={
        "machine_learning_admin": {"cluster": ["manage_ml"]}})["updated"] is True
    assert owner.security.update_api_key(id=created["id"], metadata={"env": "test"})["updated"] is False
    with pytest.raises(elasticsearch.NotFoundError):  # the key's scope changed at once: authorized, no such model
        key.ml.delete_trained_model(model_id="no-such-model")
    with pytest.raises(elasticsearch.BadRequestError) as refused:  # only the owner user, never a key
        es.security.update_api_key(id=created["id"], metadata={})
    assert "only the owner user can update an API key" in str(refused.value)
    with pytest.raises(elasticsearch.NotFoundError):
        es.security.put_user(username="not-owner", password="secret-1", roles=["superuser"])
        client_for(server.url, basic_auth=("not-owner", "secret-1")).security.update_api_key(id=created["id"])

    found = owner.security.query_api_keys(query={"bool": {"filter": [{"term": {"username": "key-owner"}}],
                                                          "must_not": [{"term": {"invalidated": True}}]}},
                                          sort=["name:desc"], size=5)
    assert found["total"] == found["count"] == 1
    (listed,) = found["api_keys"]
    assert listed["id"] == created["id"] and listed["metadata"] == {"env": "test"} and listed["_sort"] == ["updatable"]
    assert es.security.query_api_keys(query={"prefix": {"name": "updat"}}, from_=0)["total"] >= 1
    with pytest.raises(elasticsearch.BadRequestError) as refused:
        es.security.query_api_keys(query={"term": {"secret": "x"}})
    assert refused.value.body["error"]["reason"] == "Field [secret] is not allowed for querying or aggregation"


def test_the_keys_command(server: ServerProcess) -> None:
    base = ["--url", server.url, "--data-dir", str(server.data_dir)]
    created = cli("keys", "create", "cli-reader", "--role", "machine_learning_user", "--expiration", "1d", *base)
    assert created.returncode == 0, created.stderr
    encoded = created.stdout.strip()
    reader = client_for(server.url, api_key=encoded)
    assert reader.security.authenticate()["api_key"]["name"] == "cli-reader"
    listed = cli("keys", "list", "--name", "cli-reader", *base)
    assert listed.returncode == 0 and "cli-reader" in listed.stdout and "monitor_ml" in listed.stdout
    key_id = reader.security.authenticate()["api_key"]["id"]
    invalidated = cli("keys", "invalidate", key_id, *base)
    assert invalidated.returncode == 0 and f"invalidated {key_id}" in invalidated.stdout
    with pytest.raises(elasticsearch.AuthenticationException):
        reader.security.authenticate()
    users = cli("users", "create", "cli-user", "--role", "machine_learning_user", "--password-stdin", *base,
                stdin="secret-1\n")
    assert users.returncode == 0, users.stderr
    assert client_for(server.url, basic_auth=("cli-user", "secret-1")).security.authenticate()["username"] == "cli-user"


def test_the_first_start_makes_one_admin_key(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        key_file = tmp_path / "data" / "admin-api-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        log = server.log_path.read_text()
        assert log.count("first start: created the admin API key") == 1 and key_file.read_text().strip() in log
        server.restart()
        assert server.log_path.read_text().count("first start: created the admin API key") == 1
        with http_for(server.url) as http:
            assert http.get("/_security/_authenticate").json()["api_key"]["name"] == "inferd-admin"
        with http_for(server.url, authenticated=False) as anonymous:
            assert anonymous.get("/_ml/trained_models").status_code == 401
            assert anonymous.get("/_inferd/ready").status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize("how", [["--no-security"], []])
def test_no_security_is_refused_off_loopback(tmp_path: Path, how: list[str]) -> None:
    env = {**os.environ, **({} if how else {"INFERD_SECURITY_ENABLED": "false"})}
    started = time.monotonic()
    refused = subprocess.run([sys.executable, "-m", "inferd", "serve", "--host", "0.0.0.0", "--port", "0",
                              "--data-dir", str(tmp_path / "data"), *how], capture_output=True, text=True, timeout=60,
                             env=env)
    assert refused.returncode == 2 and time.monotonic() - started < 30
    assert "security is disabled (--no-security) but the server would listen on [0.0.0.0]" in refused.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_no_security_on_loopback_serves_without_credentials_and_says_so(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", extra_args=["--no-security"]).start()
    try:
        with http_for(server.url, authenticated=False) as http:
            assert http.get("/_ml/trained_models").status_code == 200
        assert "SECURITY IS DISABLED" in server.log_path.read_text()
    finally:
        server.stop()


def _authenticates(url: str, key: str) -> int:
    return httpx.get(f"{url}/_security/_authenticate", headers={"Authorization": f"ApiKey {key}"}, timeout=30).status_code


def test_a_lost_admin_key_is_replaced_with_the_server_running_or_stopped(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", extra_env={"INFERD_PROCESSORS": "2"}).start()
    key_file = server.data_dir / "admin-api-key"
    try:
        first = server.admin_key
        assert _authenticates(server.url, first) == 200  # and now the server has it cached
        running = cli("keys", "reset-admin", "--data-dir", str(server.data_dir))
        assert running.returncode == 0, running.stderr
        second = running.stdout.strip()
        assert key_file.read_text() == second + "\n" and stat.S_IMODE(key_file.stat().st_mode) == 0o600
        deadline = time.monotonic() + 5  # the server notices another process's invalidation within a second
        while _authenticates(server.url, first) != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
        refused = httpx.get(f"{server.url}/_security/_authenticate", headers={"Authorization": f"ApiKey {first}"})
        assert refused.status_code == 401 and "has been invalidated" in refused.text
        assert refused.headers.get_list("www-authenticate") == ['Basic realm="security" charset="UTF-8"', "ApiKey"]
        with http_for(server.url) as http:  # the new key, read from the file as inferd's commands do
            assert http.get("/_security/_authenticate").json()["api_key"]["name"] == "inferd-admin"
            assert http.get("/_ml/trained_models").status_code == 200

        server.stop()
        stopped = cli("keys", "reset-admin", "--data-dir", str(server.data_dir))
        assert stopped.returncode == 0, stopped.stderr
        third = stopped.stdout.strip()
        server.start()
        assert _authenticates(server.url, second) == 401
        assert _authenticates(server.url, third) == 200
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    finally:
        server.stop()


def test_reset_admin_refuses_a_directory_without_a_store(tmp_path: Path) -> None:
    refused = cli("keys", "reset-admin", "--data-dir", str(tmp_path / "typo"))
    assert refused.returncode == 1 and "no inferd store" in refused.stderr
    assert not (tmp_path / "typo").exists()
