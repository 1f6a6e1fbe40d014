"""From an `Authorization` header to a principal, with Elasticsearch's 401s.

`ApiKey base64(id:key)` (what elasticsearch-py sends for `api_key=`) and `Basic base64(user:password)`.
A cached key costs a base64 decode, a dictionary lookup and one HMAC; only a cache miss reads the store,
and only a password not seen recently runs scrypt, both off the event loop.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from inferd.control.security import ApiKeys, CredentialsRefused, Principal, Users
from inferd.errors import SecurityException

WWW_AUTHENTICATE = ('Basic realm="security" charset="UTF-8"', "ApiKey")
"""The challenges Elasticsearch sends with every 401 (its realms first, then the API key service)."""

ANONYMOUS_DENIED = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"


def _challenge(reason: str, metadata: dict[str, str] | None = None) -> SecurityException:
    return SecurityException(reason, status=401, headers={"WWW-Authenticate": list(WWW_AUTHENTICATE)},
                             metadata=metadata)


def _api_key_refused(message: str) -> SecurityException:
    """Elasticsearch's answer once the API key authenticator gave up and no realm took the request."""
    return _challenge(ANONYMOUS_DENIED, {"additional_unsuccessful_credentials": f"API key: {message}"})


def _text(uri: str | Callable[[], str]) -> str:
    return uri if isinstance(uri, str) else uri()


def _decode(value: str) -> str:
    return base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")


class Authenticator:
    def __init__(self, keys: ApiKeys, users: Users) -> None:
        self.keys = keys
        self.users = users

    async def authenticate(self, header: str | None, uri: str | Callable[[], str]) -> Principal:
        """`uri` (Elasticsearch's request uri, for messages) may be a function, called only on failure."""
        scheme, _, value = (header or "").partition(" ")
        scheme = scheme.lower()
        if scheme == "apikey" and value.strip():
            return await self._api_key(value)
        if scheme == "basic" and value.strip():
            return await self._basic(value, uri)
        raise _challenge(f"missing authentication credentials for REST request [{_text(uri)}]")

    async def _api_key(self, value: str) -> Principal:
        try:
            key_id, colon, secret = _decode(value).partition(":")
        except (binascii.Error, UnicodeError, ValueError):
            raise _api_key_refused("invalid ApiKey value") from None
        if not colon or not key_id:
            raise _api_key_refused("invalid ApiKey value")
        if self.keys.claim_sync():
            await run_in_threadpool(self.keys.sync)
        record = self.keys.cached(key_id)
        if record is None:
            record = await run_in_threadpool(self.keys.load, key_id)
        try:
            return self.keys.authenticate(key_id, secret, record)
        except CredentialsRefused as refused:
            raise _api_key_refused(refused.message) from None

    async def _basic(self, value: str, uri: str | Callable[[], str]) -> Principal:
        try:
            username, colon, password = _decode(value).partition(":")
        except (binascii.Error, UnicodeError, ValueError):
            username, colon, password = "", "", ""
        if not colon or not username:
            raise _challenge("invalid basic authentication header value")
        principal = self.users.cached(username, password)
        if principal is not None:
            return principal
        try:
            return await run_in_threadpool(self.users.authenticate, username, password)
        except CredentialsRefused:
            raise _challenge(f"unable to authenticate user [{username}] for REST request [{_text(uri)}]") from None
