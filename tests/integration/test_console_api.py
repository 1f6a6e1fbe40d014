"""The console's server side over plain HTTP: sessions (cookie flags, CSRF, sign-out, idle expiry, credentials
that change), the privileges every console endpoint checks, the live feed, the page's headers, and `GET /` for
browsers and for JSON clients.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import eventually
from tests.support.server import ServerProcess, http_for

SESSION = "/_inferd/console/session"
STOP_MISSING = "/_inferd/deployments/no-such-deployment/_stop"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("console-api") / "data", extra_env={
        "INFERD_PROCESSORS": "2", "INFERD_CONSOLE_SESSION_IDLE_TIMEOUT_S": "3"}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def clients() -> Iterator[list[httpx.Client]]:
    """Clients a test opens, closed after it."""
    opened: list[httpx.Client] = []
    yield opened
    for client in opened:
        client.close()


@pytest.fixture
def sign_in(server: ServerProcess, clients: list[httpx.Client]) -> Callable[[str], tuple[httpx.Client, dict[str, Any]]]:
    """Sign in with these credentials: a client holding the console session (its cookie jar), and the answer."""
    def signed_in(authorization: str) -> tuple[httpx.Client, dict[str, Any]]:
        client = http_for(server.url, authenticated=False)
        clients.append(client)
        response = client.post(SESSION, headers={"Authorization": authorization})
        assert response.status_code == 200, response.text
        return client, response.json()
    return signed_in


SignIn = Callable[[str], tuple[httpx.Client, dict[str, Any]]]


def csrf(answer: dict[str, Any]) -> dict[str, str]:
    return {answer["csrf_header"]: answer["session"]["csrf_token"]}


def new_key(admin: httpx.Client, name: str, privileges: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if privileges is not None:
        body["role_descriptors"] = {name: {"cluster": privileges}}
    response = admin.post("/_security/api_key", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_signing_in_sets_an_httponly_strict_cookie_that_holds_no_credential(
        server: ServerProcess, clients: list[httpx.Client]) -> None:
    client = http_for(server.url, authenticated=False)
    clients.append(client)
    response = client.post(SESSION, headers={"Authorization": f"ApiKey {server.admin_key}"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    value = client.cookies["inferd_session"]
    assert len(value) >= 40 and server.admin_key not in cookie and server.admin_key.split(":")[0] not in cookie
    answer = response.json()
    assert answer["user"]["api_key"]["name"] == "inferd-admin" and answer["session"]["csrf_token"] != value
    assert client.get(SESSION).json()["user"]["username"] == "elastic"  # the cookie alone authenticates a read


def test_a_state_change_needs_the_sessions_csrf_token(sign_in: SignIn, server: ServerProcess) -> None:
    client, answer = sign_in(f"ApiKey {server.admin_key}")
    for headers in ({}, {answer["csrf_header"]: "wrong"}):
        refused = client.post(STOP_MISSING, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["type"] == "security_exception"
        assert "CSRF token" in refused.json()["error"]["reason"]
        infer = client.post("/_ml/trained_models/no-such-model/_infer", json={"docs": [{"text_field": "x"}]},
                            headers=headers)
        assert infer.status_code == 403  # the inference path too
        assert client.delete(SESSION, headers=headers).status_code == 403  # nobody can sign you out from afar
    assert client.post(STOP_MISSING, headers=csrf(answer)).status_code == 404  # authorized: no such deployment
    assert client.get(SESSION).status_code == 200


def test_an_authorization_header_wins_over_the_cookie_and_needs_no_token(sign_in: SignIn, server: ServerProcess) -> None:
    client, _ = sign_in(f"ApiKey {server.admin_key}")
    response = client.post(STOP_MISSING, headers={"Authorization": f"ApiKey {server.admin_key}"})
    assert response.status_code == 404


def test_a_signed_out_session_is_refused(sign_in: SignIn, server: ServerProcess) -> None:
    client, answer = sign_in(f"ApiKey {server.admin_key}")
    cookie = client.cookies["inferd_session"]
    signed_out = client.delete(SESSION, headers=csrf(answer))
    assert signed_out.status_code == 200 and signed_out.json() == {"signed_out": True}
    assert 'inferd_session=""' in signed_out.headers["set-cookie"] or "max-age=0" in signed_out.headers["set-cookie"].lower()
    with httpx.Client(base_url=server.url, cookies={"inferd_session": cookie}) as replay:
        refused = replay.get(SESSION)
        assert refused.status_code == 401
        assert "the console session has ended" in refused.json()["error"]["reason"]
        assert replay.get("/_ml/trained_models").status_code == 401


def test_a_session_ends_after_its_idle_timeout(sign_in: SignIn, server: ServerProcess) -> None:
    client, _ = sign_in(f"ApiKey {server.admin_key}")
    time.sleep(1.5)
    assert client.get(SESSION).status_code == 200  # activity: the idle timeout starts again
    time.sleep(1.5)
    assert client.get(SESSION).status_code == 200
    time.sleep(1.5)
    # What the console asks by itself (a reload the live feed prompted) is no activity of the user's.
    assert client.get("/_ml/trained_models", headers={"X-Inferd-Background": "true"}).status_code == 200
    time.sleep(2)
    assert client.get(SESSION).status_code == 401


def test_invalidating_the_api_key_ends_its_sessions(sign_in: SignIn, server: ServerProcess, admin: httpx.Client) -> None:
    key = new_key(admin, "console-invalidated")
    client, _ = sign_in(f"ApiKey {key['encoded']}")
    assert client.get("/_ml/trained_models").status_code == 200
    assert admin.request("DELETE", "/_security/api_key", json={"ids": [key["id"]]}).status_code == 200
    assert client.get("/_ml/trained_models").status_code == 401


def test_a_new_password_or_a_disabled_user_ends_the_users_sessions(sign_in: SignIn, server: ServerProcess, admin: httpx.Client) -> None:
    assert admin.put("/_security/user/console-user", json={"password": "first-password",
                                                          "roles": ["machine_learning_user"]}).status_code == 200
    client, answer = sign_in(basic("console-user", "first-password"))
    assert answer["user"]["username"] == "console-user" and client.get("/_ml/trained_models").status_code == 200
    assert admin.put("/_security/user/console-user", json={"password": "second-password",
                                                          "roles": ["machine_learning_user"]}).status_code == 200
    assert client.get("/_ml/trained_models").status_code == 401
    client, _ = sign_in(basic("console-user", "second-password"))
    assert admin.put("/_security/user/console-user", json={"roles": ["machine_learning_user"],
                                                          "enabled": False}).status_code == 200
    assert client.get("/_ml/trained_models").status_code == 401


def test_signing_in_needs_valid_credentials_in_the_header(server: ServerProcess) -> None:
    with http_for(server.url, authenticated=False) as client:
        refused = client.post(SESSION, headers={"Authorization": basic("nobody", "wrong-password")})
        assert refused.status_code == 401 and "inferd_session" not in client.cookies
        assert client.post(SESSION).status_code == 401


def test_a_scripts_401_has_no_basic_challenge_so_the_browser_opens_no_password_dialog(server: ServerProcess) -> None:
    with http_for(server.url, authenticated=False) as client:
        scripted = client.get(SESSION, headers={"X-Requested-With": "inferd-console"})
        assert scripted.status_code == 401 and scripted.headers.get_list("www-authenticate") == ["ApiKey"]
        fetched = client.get(SESSION, headers={"Sec-Fetch-Dest": "empty"})
        assert fetched.headers.get_list("www-authenticate") == ["ApiKey"]
        plain = client.get(SESSION)  # curl, an API client: Elasticsearch's two challenges
        assert plain.headers.get_list("www-authenticate") == ['Basic realm="security" charset="UTF-8"', "ApiKey"]


def test_the_session_says_what_the_caller_may_do_and_why_not(sign_in: SignIn, server: ServerProcess, admin: httpx.Client) -> None:
    key = new_key(admin, "console-monitor", ["monitor_ml"])
    _, answer = sign_in(f"ApiKey {key['encoded']}")
    privileges = answer["privileges"]
    assert privileges["GET /_ml/trained_models"] == {"allowed": True}
    assert privileges["GET /_inferd/console/live"] == {"allowed": True}
    start = privileges["POST /_ml/trained_models/{model_id}/deployment/_start"]
    assert start["allowed"] is False
    assert start["reason"] == (f"action [cluster:admin/xpack/ml/trained_models/deployment/start] is unauthorized for "
                               f"API key id [{key['id']}] of user [elastic], this action is granted by the cluster "
                               "privileges [manage_inference,manage_ml,manage,all]")


def test_console_endpoints_check_privileges(sign_in: SignIn, server: ServerProcess, admin: httpx.Client) -> None:
    nothing = new_key(admin, "console-nothing", ["manage_own_api_key"])
    client, answer = sign_in(f"ApiKey {nothing['encoded']}")  # any valid credentials may sign in
    refused = client.get("/_inferd/console/live", params={"samples": 1})
    assert refused.status_code == 403
    assert "cluster:monitor/inferd/console/live" in refused.json()["error"]["reason"]
    assert client.get("/_ml/trained_models").status_code == 403
    assert answer["privileges"]["GET /_ml/trained_models"]["allowed"] is False
    with http_for(server.url, authenticated=False) as anonymous:
        assert anonymous.get("/_inferd/console/live", params={"samples": 1}).status_code == 401
        assert anonymous.delete(SESSION).status_code == 401


def test_a_session_cannot_open_another_session(sign_in: SignIn, server: ServerProcess) -> None:
    client, answer = sign_in(f"ApiKey {server.admin_key}")
    refused = client.post(SESSION, headers=csrf(answer))
    assert refused.status_code == 400


def read_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_the_live_feed_pushes_samples_as_server_sent_events(sign_in: SignIn, server: ServerProcess, admin: httpx.Client) -> None:
    client, _ = sign_in(f"ApiKey {server.admin_key}")
    started = time.monotonic()
    response = client.get("/_inferd/console/live", params={"samples": 2}, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: ")
    events = read_events(response)
    assert [name for name, _ in events] == ["sample", "sample"]
    assert events[1][1]["time"] > events[0][1]["time"] and time.monotonic() - started >= 0.9
    assert events[0][1]["deployments"] == []


def test_a_live_feed_does_not_keep_the_session_alive_and_ends_with_it(sign_in: SignIn, server: ServerProcess) -> None:
    client, answer = sign_in(f"ApiKey {server.admin_key}")
    cookie = client.cookies["inferd_session"]
    with httpx.Client(base_url=server.url, timeout=30, cookies={"inferd_session": cookie}) as feed:
        response = feed.get("/_inferd/console/live", params={"samples": 10}, headers={"Accept": "text/event-stream"})
    names = [name for name, _ in read_events(response)]
    assert names[-1] == "signed_out" and 1 <= names.count("sample") < 10  # the idle timeout (3 s) ended it


def test_the_page_and_its_assets_are_served_without_credentials_with_a_strict_policy(server: ServerProcess) -> None:
    with http_for(server.url, authenticated=False) as client:
        page = client.get("/_inferd/console/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy
        assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
        assert client.get("/_inferd/console").status_code == 307
        script = client.get("/_inferd/console/assets/js/main.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert client.get("/_inferd/console/assets/js/main.js",
                          headers={"If-None-Match": script.headers["etag"]}).status_code == 304
        for missing in ("assets/nothing.js", "assets/../__init__.py", "assets/%2e%2e/__init__.py", "assets/index.html"):
            assert client.get(f"/_inferd/console/{missing}").status_code in (401, 404), missing


def test_the_root_sends_browsers_to_the_console_and_json_clients_get_elasticsearchs_answer(
        server: ServerProcess, admin: httpx.Client) -> None:
    with http_for(server.url, authenticated=False) as browser:
        redirect = browser.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert redirect.status_code == 302 and redirect.headers["location"] == "/_inferd/console/"
    root = admin.get("/", headers={"Accept": "application/vnd.elasticsearch+json; compatible-with=9"})
    assert root.status_code == 200 and root.json()["tagline"] == "You Know, for Search"
    assert admin.get("/").json()["version"]["number"]  # curl's */*


def test_a_live_feed_ends_when_the_server_stops_instead_of_holding_the_shutdown(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    server = ServerProcess(tmp_path_factory.mktemp("console-stop") / "data", extra_env={"INFERD_PROCESSORS": "1"}).start()
    lines: list[str] = []

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/_inferd/console/live", timeout=60,
                          headers={"Authorization": f"ApiKey {server.admin_key}"}) as response:
            lines.extend(response.iter_lines())

    listener = threading.Thread(target=listen)
    listener.start()
    try:
        eventually(lambda: any(line.startswith("data: ") for line in lines), 10, "a first sample")
    finally:
        started = time.monotonic()
        server.stop()
        listener.join(10)
    assert time.monotonic() - started < 10  # not uvicorn's 30 s grace for connections still open
    assert not listener.is_alive() and server.process is not None
    assert server.process.returncode in (0, -15)  # stopped by its SIGTERM, not killed after the grace period


def test_without_security_the_console_needs_no_sign_in_and_everything_is_allowed(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    server = ServerProcess(tmp_path_factory.mktemp("console-open") / "data", extra_env={"INFERD_PROCESSORS": "1"},
                           extra_args=["--no-security"]).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            answer = client.get(SESSION).json()
            assert answer["security_enabled"] is False and answer["user"] is None and answer["session"] is None
            assert all(entry["allowed"] for entry in answer["privileges"].values())
            assert client.post(SESSION).json()["session"] is None and "inferd_session" not in client.cookies
    finally:
        server.stop()
