"""Who is calling: the authenticated subject a request runs as, and what it may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

API_KEY_REALM = "_es_api_key"
"""The realm name and type Elasticsearch reports for API-key authentication."""
NATIVE_REALM = ("default_native", "native")
"""Users stored in inferd's store: Elasticsearch's native realm, with its default name."""
RESERVED_REALM = ("reserved", "reserved")
"""The reserved `elastic` user that owns the admin key made at first start."""
RESERVED_USERNAME = "elastic"


@dataclass(frozen=True)
class Principal:
    username: str
    privileges: frozenset[str]
    """Cluster privilege names (see `privileges.py`)."""
    roles: tuple[str, ...] = ()
    realm_name: str = NATIVE_REALM[0]
    realm_type: str = NATIVE_REALM[1]
    api_key_id: str | None = None
    api_key_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def describe(self) -> str:
        """How a 403 names the caller: `API key id [x] of user [u]` or `user [u]`."""
        user = f"user [{self.username}]"
        return f"API key id [{self.api_key_id}] of {user}" if self.is_api_key else user


class CredentialsRefused(Exception):
    """Credentials were given but do not authenticate; the message says why, in Elasticsearch's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
