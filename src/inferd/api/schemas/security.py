"""Bodies and responses of the security APIs, with Elasticsearch's field names."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from inferd.control.request_body import TIME_VALUE, Checked, DescribedAs, Schema, StrictBody, parse_body, without_null
from inferd.control.security import API_KEY_REALM, Principal
from inferd.control.security.api_key_query import MAX_RESULT_WINDOW, ApiKeyQuery, Sort
from inferd.control.security.privileges import CLUSTER_PRIVILEGES
from inferd.control.security.users import MIN_PASSWORD_LENGTH
from inferd.errors import IllegalArgument, ValidationFailed
from inferd.store import ApiKeyRecord, UserRecord
from inferd.units import parse_time_value


MAX_KEY_NAME_LENGTH = 1024
PRIVILEGE_NAMES = tuple(privilege.name for privilege in CLUSTER_PRIVILEGES)


class RoleDescriptor(StrictBody):
    """A role's privileges: only `cluster` ones mean something in inferd; other fields are kept and shown."""

    model_config = ConfigDict(extra="allow")

    cluster: list[Literal[PRIVILEGE_NAMES]] | None = None  # type: ignore[valid-type]


RoleDescriptors = Annotated[dict[str, dict[str, Any]] | None, DescribedAs(dict[str, RoleDescriptor] | None)]
"""`{name: {"cluster": [privilege, ...], ...}}`, read by `control/security/api_keys.py` with Elasticsearch's
messages."""
Expiration = Annotated[str | None, Checked(**TIME_VALUE)]


class CreateApiKeyBody(StrictBody):
    """A new API key, with the descriptors' privileges (with none, its creator's), never more than the creator's."""

    name: Annotated[str | None, Checked(required=True, minLength=1, maxLength=MAX_KEY_NAME_LENGTH,
                                        pattern=r"^\S(?:[\s\S]*\S)?$")] = None
    expiration: Expiration = None
    role_descriptors: RoleDescriptors = None
    metadata: dict[str, Any] | None = None


def expiration_seconds(expiration: str | None) -> float | None:
    if expiration is None:
        return None
    try:
        return parse_time_value(expiration, "expiration")
    except ValueError as error:
        raise IllegalArgument(str(error)) from None


def create_api_key_request(body: Any) -> CreateApiKeyBody:
    """The body, then Elasticsearch's checks of the name, in its order."""
    request = parse_body(CreateApiKeyBody, body, "api_key_request")
    problems = []
    if not request.name:
        problems.append("api key name is required")
    elif len(request.name) > MAX_KEY_NAME_LENGTH:
        problems.append(f"api key name may not be more than [{MAX_KEY_NAME_LENGTH}] characters long")
    elif request.name != request.name.strip():
        problems.append("api key name may not begin or end with whitespace")
    if problems:
        raise ValidationFailed(problems)
    return request


class UpdateApiKeyBody(StrictBody):
    """What is given replaces the key's own; what is left out stays (Elasticsearch 8.x)."""

    role_descriptors: RoleDescriptors = None
    metadata: dict[str, Any] | None = None
    expiration: Expiration = None


class QueryApiKeyBody(StrictBody):
    """Which API keys to list, in which order; `from` + `size` is at most the result window."""

    # `query` and `sort` stay raw JSON here: `control/security/api_key_query.py` parses them with Elasticsearch's
    # messages, and describes them.

    query: Annotated[dict[str, Any] | None, DescribedAs(ApiKeyQuery | None)] = None
    from_: Annotated[int, Checked(minimum=0, maximum=MAX_RESULT_WINDOW)] = Field(0, alias="from")
    size: Annotated[int, Checked(minimum=0, maximum=MAX_RESULT_WINDOW)] = 10
    sort: Annotated[Any, DescribedAs(Sort | None)] = None


class InvalidateApiKeyBody(StrictBody):
    """The keys to invalidate: by id(s), by name, by owner (username, realm), or the caller's own (`owner`)."""

    ids: list[str] | None = None
    id: str | None = None
    name: str | None = None
    owner: bool = False
    username: str | None = None
    realm_name: str | None = None

    @property
    def key_ids(self) -> list[str] | None:
        """`ids`, else `id` (an empty one names none)."""
        return self.ids if self.ids is not None else ([self.id] if self.id else None)

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        """`invalidate_api_key_request`'s rules: something is named, and ids or a name exclude an owner."""
        given = {name: without_null(member) for name, member in schema.pop("properties").items()}
        text: Schema = {**given["name"], "minLength": 1}

        def form(members: Schema, required: tuple[str, ...] = ()) -> Schema:
            return {"type": "object", "additionalProperties": False, "properties": members,
                    **({"required": list(required)} if required else {})}

        by_owner = {"username": text, "realm_name": text, "owner": {"type": "boolean", "enum": [False]}}
        del schema["type"], schema["additionalProperties"]  # each form says its own
        schema["anyOf"] = [
            form({"ids": {**given["ids"], "minItems": 1}, "owner": given["owner"]}, ("ids",)),
            form({"id": text, "owner": given["owner"]}, ("id",)),
            form({"name": text, "owner": given["owner"]}, ("name",)),
            {**form(by_owner), "anyOf": [{"required": ["username"]}, {"required": ["realm_name"]}]},
            form({"owner": {"type": "boolean", "enum": [True]}}, ("owner",)),
        ]


def invalidate_api_key_request(body: Any) -> InvalidateApiKeyBody:
    """The body, then Elasticsearch's checks of what it names, in its order."""
    request = parse_body(InvalidateApiKeyBody, body, "invalidate_api_key_request")
    ids = request.key_ids
    problems = []
    if not (ids or request.name or request.username or request.realm_name or request.owner):
        problems.append("One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag "
                        "is false")
    if (ids or request.name) and (request.username or request.realm_name):
        problems.append("username or realm name must not be specified when the api key id(s) or api key name is "
                        "specified")
    if request.owner and (request.username or request.realm_name):
        problems.append("neither username nor realm-name may be specified when invalidating owned API keys")
    if ids and request.name:
        problems.append("only one of [api key id(s), api key name] can be specified")
    if problems:
        raise ValidationFailed(problems)
    return request


class PutUserBody(StrictBody):
    """A native user; an update may leave the password out, to keep it."""

    password: Annotated[str | None, Checked(required=True, minLength=MIN_PASSWORD_LENGTH, description=(
        "may be left out when updating an existing user"))] = None
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
