"""Bodies and responses of the security APIs, with Elasticsearch's field names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from inferd.control.security import API_KEY_REALM, Principal
from inferd.store import ApiKeyRecord, UserRecord


class CreateApiKeyBody(BaseModel):
    """`role_descriptors` as Elasticsearch takes them: `{name: {"cluster": [privilege, ...], ...}}`. Only
    `cluster` privileges mean something in inferd; other descriptor fields are kept and shown, not used."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    expiration: str | None = None
    role_descriptors: dict[str, dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None


class UpdateApiKeyBody(BaseModel):
    """What is given replaces the key's own; what is left out stays (Elasticsearch 8.x)."""

    model_config = ConfigDict(extra="forbid")

    role_descriptors: dict[str, dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    expiration: str | None = None


class QueryApiKeyBody(BaseModel):
    """`query` and `sort` stay raw JSON here: `control/security/api_key_query.py` parses them with Elasticsearch's
    messages."""

    model_config = ConfigDict(extra="forbid")

    query: dict[str, Any] | None = None
    from_: int = Field(0, alias="from")
    size: int = 10
    sort: Any = None


class InvalidateApiKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = None
    id: str | None = None
    name: str | None = None
    owner: bool = False
    username: str | None = None
    realm_name: str | None = None


class PutUserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = None
    roles: list[str] = Field(default_factory=list)
    full_name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] | None = None
    enabled: bool = True


def render_api_key(record: ApiKeyRecord, *, with_limited_by: bool = False) -> dict[str, Any]:
    """Elasticsearch's ApiKey.innerToXContent (type `rest`)."""
    rendered: dict[str, Any] = {"id": record.key_id, "name": record.name, "type": "rest", "creation": record.creation_ms}
    if record.expiration_ms is not None:
        rendered["expiration"] = record.expiration_ms
    rendered["invalidated"] = record.invalidated
    if record.invalidation_ms is not None:
        rendered["invalidation"] = record.invalidation_ms
    rendered.update(username=record.username, realm=record.realm, realm_type=record.realm_type,
                    metadata=record.metadata, role_descriptors=record.role_descriptors)
    if with_limited_by:
        rendered["limited_by"] = [{"inferd_limited_by": {"cluster": list(record.limited_by)}}]
    return rendered


def render_authenticate(principal: Principal) -> dict[str, Any]:
    """Elasticsearch's `_authenticate` answer."""
    if principal.is_api_key:
        realm = {"name": API_KEY_REALM, "type": API_KEY_REALM}
    else:
        realm = {"name": principal.realm_name, "type": principal.realm_type}
    body: dict[str, Any] = {
        "username": principal.username,
        "roles": list(principal.roles),
        "full_name": principal.full_name,
        "email": principal.email,
        "metadata": principal.metadata,
        "enabled": True,
        "authentication_realm": realm,
        "lookup_realm": realm,
        "authentication_type": "api_key" if principal.is_api_key else "realm",
    }
    if principal.is_api_key:
        body["api_key"] = {"id": principal.api_key_id, "name": principal.api_key_name}
    return body


def render_user(record: UserRecord) -> dict[str, Any]:
    return {"username": record.username, "roles": list(record.roles), "full_name": record.full_name,
            "email": record.email, "metadata": record.metadata, "enabled": record.enabled}
