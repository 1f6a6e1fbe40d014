"""The console's session as a browser holds it: no script reads the cookie, no credential ever appears in a URL or in
the page's storage, another site's page cannot use the session, signing out (or invalidating the API key) ends it
for good, and a page whose session ended goes back to the sign-in form."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Request, expect

from tests.support.browser import LAPTOP, RequestLog, console_url, sign_in_with_key, sign_in_with_password
from tests.support.server import ServerProcess, http_for

pytestmark = pytest.mark.slow
USER = ("console-auditor", "auditor-password-1")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("console-security") / "data",
                            extra_env={"INFERD_PROCESSORS": "2"}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport=LAPTOP)
    yield opened
    opened.close()


def session_cookie(context: BrowserContext) -> str:
    (cookie,) = [c["value"] for c in context.cookies() if c["name"] == "inferd_session"]
    return cookie


def test_no_credential_appears_in_any_url_the_page_storage_or_the_server_log(
        context: BrowserContext, server: ServerProcess, admin: httpx.Client) -> None:
    username, password = USER
    assert admin.put(f"/_security/user/{username}", json={"password": password,
                                                          "roles": ["machine_learning_user"]}).status_code == 200
    key = admin.post("/_security/api_key", json={"name": "console-url-check"}).json()
    secret = base64.b64decode(key["encoded"]).decode().split(":")[1]
    log = RequestLog()
    log.watch(context)
    page = context.new_page()
    sign_in_with_key(page, server.url, key["encoded"])
    for fragment in ("#/deployments", "#/nodes", "#/models"):
        page.goto(console_url(server.url) + fragment)
        page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, server.url, username, password)
    page.wait_for_load_state("networkidle")
    secrets = [key["encoded"], secret, password, base64.b64encode(f"{username}:{password}".encode()).decode()]
    assert len(log.urls) > 20
    for url in log.urls:
        assert not any(value in url for value in secrets), url
    storage = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert storage == "[[],[]]"
    server_log = server.log_path.read_text()
    assert not any(value in server_log for value in secrets)


def test_the_session_cookie_is_not_readable_from_script(context: BrowserContext, server: ServerProcess) -> None:
    page = context.new_page()
    sign_in_with_key(page, server.url, server.admin_key)
    (cookie,) = [c for c in context.cookies() if c["name"] == "inferd_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""


def test_another_sites_page_cannot_use_the_session(context: BrowserContext, server: ServerProcess) -> None:
    """SameSite=Strict: a request another site's page makes to inferd carries no session cookie (and without one,
    nor a CSRF token, nothing is done)."""
    page = context.new_page()
    sign_in_with_key(page, server.url, server.admin_key)
    target = f"{server.url}/_inferd/deployments/no-such-deployment/_stop"
    sent: list[Request] = []
    context.on("request", lambda request: sent.append(request) if request.url == target else None)
    context.route("http://evil.example/", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<html><body>cross-site</body></html>"))
    evil = context.new_page()
    evil.goto("http://evil.example/")
    evil.evaluate(f"""() => fetch({target!r}, {{method: 'POST', mode: 'no-cors', credentials: 'include'}})
                           .catch(() => null)""")
    evil.wait_for_timeout(500)
    assert sent, "the cross-site request was not made"
    assert "inferd_session" not in sent[0].all_headers().get("cookie", "")
    page.evaluate(f"() => fetch({target!r}, {{method: 'POST'}})")  # the console's own page: the cookie goes
    page.wait_for_timeout(300)
    assert len(sent) == 2 and "inferd_session" in sent[1].all_headers().get("cookie", "")


def test_a_signed_out_session_is_refused_and_the_page_asks_to_sign_in(
        context: BrowserContext, server: ServerProcess) -> None:
    page = context.new_page()
    sign_in_with_key(page, server.url, server.admin_key)
    cookie = session_cookie(context)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to inferd")).to_be_visible()
    expect(page.get_by_text("You signed out.")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "inferd_session"]
    with httpx.Client(base_url=server.url, cookies={"inferd_session": cookie}) as replay:
        assert replay.get("/_ml/trained_models").status_code == 401
    page.goto(console_url(server.url) + "#/deployments")
    expect(page.get_by_role("heading", name="Sign in to inferd")).to_be_visible()


def test_invalidating_the_key_ends_the_open_console(
        context: BrowserContext, server: ServerProcess, admin: httpx.Client) -> None:
    key = admin.post("/_security/api_key", json={"name": "console-invalidate"}).json()
    page = context.new_page()
    sign_in_with_key(page, server.url, key["encoded"])
    assert admin.request("DELETE", "/_security/api_key", json={"ids": [key["id"]]}).status_code == 200
    page.get_by_role("link", name="Deployments").click()
    expect(page.get_by_role("heading", name="Sign in to inferd")).to_be_visible()
    expect(page.get_by_text("the console session has ended")).to_be_visible()


def test_a_state_change_without_the_csrf_token_is_refused(context: BrowserContext, server: ServerProcess) -> None:
    """The page's own cookie is not enough: the request must carry the token only the page got."""
    page = context.new_page()
    sign_in_with_key(page, server.url, server.admin_key)
    statuses = page.evaluate("""async () => {
        const stop = (headers) => fetch('/_inferd/deployments/no-such-deployment/_stop', {method: 'POST', headers})
            .then((response) => response.status);
        const session = await (await fetch('/_inferd/console/session')).json();
        return [await stop({}), await stop({[session.csrf_header]: 'forged'}),
                await stop({[session.csrf_header]: session.session.csrf_token})];
    }""")
    assert statuses == [403, 403, 404]
