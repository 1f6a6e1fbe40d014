"""Elasticsearch's security APIs that inferd serves: API keys, `_authenticate`, and native users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from inferd.api.body import JsonBody
from inferd.api.params import EsBool
from inferd.api.privileges import Privilege, caller, require_privilege
from inferd.api.schemas.security import (
    PutUserBody,
    QueryApiKeyBody,
    UpdateApiKeyBody,
    create_api_key_request,
    expiration_seconds,
    invalidate_api_key_request,
    render_api_key,
    render_authenticate,
    render_user,
)
from inferd.api.state import State
from inferd.control.request_body import parse_body
from inferd.control.security import Principal, UnknownPrivilege
from inferd.control.security.api_key_query import check_window, parse_query, parse_sort, sort_keys, sort_values
from inferd.errors import IllegalArgument, InferdError

router = APIRouter(prefix="/_security")
Caller = Annotated[Principal | None, Depends(caller)]
# Privileges that reach every API key, not only the caller's own; `read_security` reads them all, changes none.
ALL_KEYS = frozenset({"manage_api_key", "manage_security", "all"})
READ_ALL_KEYS = ALL_KEYS | {"read_security"}


class SecurityDisabled(InferdError):
    """Elasticsearch answers its security APIs this way when security is off."""

    error_type = "exception"


def _require(principal: Principal | None) -> Principal:
    if principal is None:
        raise SecurityDisabled(
            "Security must be explicitly enabled to use this API. Enable security by removing [--no-security] (or "
            "setting [INFERD_SECURITY_ENABLED] to [true]) and restart the server."
        )
    return principal


def _requirement(privilege: Privilege, action: str) -> list[Any]:
    return [Depends(require_privilege(privilege, action))]


CREATE = _requirement(Privilege.MANAGE_OWN_API_KEY, "cluster:admin/xpack/security/api_key/create")


@router.post("/api_key", dependencies=CREATE)
@router.put("/api_key", dependencies=CREATE)
async def create_api_key(body: JsonBody, state: State, principal: Caller, refresh: str | None = None) -> dict[str, Any]:
    creator = _require(principal)
    request = create_api_key_request(body)
    expiration_s = expiration_seconds(request.expiration)
    assert request.name is not None  # create_api_key_request refused a body without one
    try:
        created = await run_in_threadpool(
            state.api_keys.create, creator, request.name, expiration_s, request.role_descriptors, request.metadata
        )
    except UnknownPrivilege as error:
        raise IllegalArgument(str(error)) from None
    answer: dict[str, Any] = {"id": created.record.key_id, "name": created.record.name}
    if created.record.expiration_ms is not None:
        answer["expiration"] = created.record.expiration_ms
    answer.update(api_key=created.secret, encoded=created.encoded)
    return answer


@router.get("/api_key", dependencies=_requirement(Privilege.MANAGE_OWN_API_KEY,
                                                  "cluster:admin/xpack/security/api_key/get"))
async def get_api_key(
    state: State,
    principal: Caller,
    id: str | None = None,  # noqa: A002 - Elasticsearch's parameter name
    name: str | None = None,
    username: str | None = None,
    realm_name: str | None = None,
    owner: EsBool = False,
    active_only: EsBool = False,
    with_limited_by: EsBool = False,
) -> dict[str, Any]:
    caller_ = _require(principal)
    if (id or name) and (username or realm_name):
        raise IllegalArgument("username or realm name must not be specified when the api key id or api key name is "
                              "specified")
    only_own = owner or caller_.privileges.isdisjoint(READ_ALL_KEYS)
    records = await run_in_threadpool(
        state.api_keys.find, ids=[id] if id else None, name=name, username=username, realm=realm_name,
        owner=caller_ if only_own else None, active_only=active_only,
    )
    return {"api_keys": [render_api_key(record, with_limited_by=with_limited_by) for record in records]}


@router.put("/api_key/{id}", dependencies=_requirement(Privilege.MANAGE_OWN_API_KEY,
                                                      "cluster:admin/xpack/security/api_key/update"))
async def update_api_key(id: str, body: JsonBody, state: State, principal: Caller) -> dict[str, bool]:  # noqa: A002
    owner = _require(principal)
    request = parse_body(UpdateApiKeyBody, {} if body is None else body, "update_api_key_request")
    try:
        updated = await run_in_threadpool(state.api_keys.update, owner, id, request.role_descriptors,
                                          request.metadata, expiration_seconds(request.expiration))
    except UnknownPrivilege as error:
        raise IllegalArgument(str(error)) from None
    return {"updated": updated}


QUERY = _requirement(Privilege.MANAGE_OWN_API_KEY, "cluster:admin/xpack/security/api_key/query")


@router.post("/_query/api_key", dependencies=QUERY)
@router.get("/_query/api_key", dependencies=QUERY)
async def query_api_keys(body: JsonBody, state: State, principal: Caller, with_limited_by: EsBool = False,
                         sort: str | None = None) -> dict[str, Any]:
    """Elasticsearch's Query API keys (a bounded subset: `control/security/api_key_query.py`); the query is parsed
    before any key is read. `sort` in the query string is how elasticsearch-py sends `"name:desc"`."""
    caller_ = _require(principal)
    request = parse_body(QueryApiKeyBody, {} if body is None else body, "query_api_key_request")
    check_window(request.from_, request.size)
    matches = parse_query(request.query)
    keys = parse_sort(request.sort if sort is None else sort.split(","))
    owned = await run_in_threadpool(
        state.api_keys.find, owner=caller_ if caller_.privileges.isdisjoint(READ_ALL_KEYS) else None
    )
    found = sort_keys([record for record in owned if matches(record)], keys)
    page = found[request.from_:request.from_ + request.size]
    api_keys = []
    for record in page:
        rendered = render_api_key(record, with_limited_by=with_limited_by)
        if keys:
            rendered["_sort"] = sort_values(record, keys)
        api_keys.append(rendered)
    return {"total": len(found), "count": len(page), "api_keys": api_keys}


@router.delete("/api_key", dependencies=_requirement(Privilege.MANAGE_OWN_API_KEY,
                                                     "cluster:admin/xpack/security/api_key/invalidate"))
async def invalidate_api_key(body: JsonBody, state: State, principal: Caller) -> dict[str, Any]:
    caller_ = _require(principal)
    request = invalidate_api_key_request(body)
    only_own = request.owner or caller_.privileges.isdisjoint(ALL_KEYS)
    records = await run_in_threadpool(
        state.api_keys.find, ids=request.key_ids, name=request.name, username=request.username, realm=request.realm_name,
        owner=caller_ if only_own else None,
    )
    invalidated, previously = await run_in_threadpool(state.api_keys.invalidate, records)
    return {"invalidated_api_keys": invalidated, "previously_invalidated_api_keys": previously, "error_count": 0}


@router.get("/_authenticate", dependencies=_requirement(Privilege.AUTHENTICATED,
                                                        "cluster:admin/xpack/security/user/authenticate"))
async def authenticate(principal: Caller) -> dict[str, Any]:
    return render_authenticate(_require(principal))


# --- native users (for basic authentication) -------------------------------------------------------

PUT_USER = _requirement(Privilege.MANAGE_SECURITY, "cluster:admin/xpack/security/user/put")
GET_USER = _requirement(Privilege.READ_SECURITY, "cluster:admin/xpack/security/user/get")


@router.put("/user/{username}", dependencies=PUT_USER)
@router.post("/user/{username}", dependencies=PUT_USER)
async def put_user(username: str, body: JsonBody, state: State, principal: Caller,
                   refresh: str | None = None) -> dict[str, bool]:
    _require(principal)
    request = parse_body(PutUserBody, body, "user")
    created = await run_in_threadpool(
        lambda: state.users.put(username, request.password, request.roles, full_name=request.full_name,
                                email=request.email, metadata=request.metadata, enabled=request.enabled)
    )
    return {"created": created}


@router.get("/user", dependencies=GET_USER)
async def get_users(state: State, principal: Caller) -> dict[str, Any]:
    _require(principal)
    return {record.username: render_user(record) for record in await run_in_threadpool(state.users.get, None)}


@router.get("/user/{username}", dependencies=GET_USER)
async def get_user(username: str, state: State, principal: Caller) -> JSONResponse:
    _require(principal)
    names = [name for name in username.split(",") if name]
    records = await run_in_threadpool(state.users.get, names)
    status = 404 if not records else 200  # Elasticsearch: an unknown user is 404 with `{}`
    return JSONResponse({record.username: render_user(record) for record in records}, status_code=status)


@router.delete("/user/{username}", dependencies=_requirement(Privilege.MANAGE_SECURITY,
                                                             "cluster:admin/xpack/security/user/delete"))
async def delete_user(username: str, state: State, principal: Caller, refresh: str | None = None) -> JSONResponse:
    _require(principal)
    found = await run_in_threadpool(state.users.delete, username)
    return JSONResponse({"found": found}, status_code=200 if found else 404)


