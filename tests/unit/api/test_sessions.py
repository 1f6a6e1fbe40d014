"""The console session's HTTP rules: which requests need the CSRF token, what counts as the user's activity, and
which 401s may carry a Basic challenge."""

from typing import Any

from inferd.api.authentication import WWW_AUTHENTICATE
from inferd.api.sessions import csrf_refusal, from_script, is_background, session_cookie, without_basic_challenge
from inferd.control.security import ConsoleSession, Principal
from inferd.errors import SecurityException

SESSION = ConsoleSession(Principal("ada", frozenset()), "the-token", 0, 1, 0, (0, 0))


def scope(method: str = "GET", **headers: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "scheme": "http",
            "headers": [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()]}


def test_only_a_state_change_needs_the_token_and_only_the_right_one_passes() -> None:
    for method in ("GET", "HEAD", "OPTIONS"):
        assert csrf_refusal(scope(method), SESSION) is None
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        refused = csrf_refusal(scope(method), SESSION)
        assert refused is not None and refused.status == 403 and "[X-CSRF-Token]" in refused.reason
        assert csrf_refusal(scope(method, x_csrf_token="the-token"), SESSION) is None
        assert csrf_refusal(scope(method, x_csrf_token="the-token2"), SESSION) is not None


def test_the_session_cookie_is_read_among_others() -> None:
    assert session_cookie(scope(cookie="a=1; inferd_session=abc; b=2")) == "abc"
    assert session_cookie(scope(cookie="a=1")) is None and session_cookie(scope()) is None
    assert session_cookie(scope(cookie="inferd_session=")) is None


def test_the_live_feed_and_the_reloads_it_prompts_are_no_activity() -> None:
    assert is_background(scope(accept="text/event-stream"))
    assert is_background(scope(x_inferd_background="true"))
    assert not is_background(scope(accept="application/json"))


def test_a_scripts_401_keeps_only_the_api_key_challenge() -> None:
    assert from_script(scope(x_requested_with="inferd-console"))
    assert from_script(scope(sec_fetch_dest="empty"))
    assert from_script(scope(cookie="inferd_session=abc"))
    assert not from_script(scope(sec_fetch_dest="document")) and not from_script(scope())
    error = SecurityException("no", status=401, headers={"WWW-Authenticate": list(WWW_AUTHENTICATE)},
                              metadata={"k": "v"})
    stripped = without_basic_challenge(error)
    assert stripped.headers == {"WWW-Authenticate": ["ApiKey"]} and stripped.metadata == {"k": "v"}
    assert stripped.reason == "no" and stripped.status == 401
