"""The privilege and the Elasticsearch action of each route, enforced here and nowhere else.

Every route declares `Depends(require_privilege(Privilege.X, "cluster:..."))`. Authentication happens
earlier, in `middleware/authentication.py` (before routing and before any body is read, as Elasticsearch
authenticates on the headers); this dependency authorizes: the caller's cluster privileges must include
one that grants the route's action, or the request is refused with Elasticsearch's 403. The privilege
the route names is the least one that grants its action (checked when the route is built), so the route
table reads as documentation; the action decides.
"""

from __future__ import annotations

from enum import StrEnum

from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from inferd.api.authentication import WWW_AUTHENTICATE
from inferd.control.security import Principal, effective_roles, granting
from inferd.errors import SecurityException

PRINCIPAL = "inferd.principal"
"""The ASGI scope key the authentication middleware stores the caller under."""


class Privilege(StrEnum):
    ANONYMOUS = "anonymous"
    AUTHENTICATED = "authenticated"
    """Any caller with valid credentials (Elasticsearch's `_authenticate`)."""
    MONITOR = "monitor"
    MONITOR_ML = "monitor_ml"
    MANAGE_ML = "manage_ml"
    MONITOR_INFERENCE = "monitor_inference"
    MANAGE_INFERENCE = "manage_inference"
    READ_PIPELINE = "read_pipeline"
    MANAGE_INGEST_PIPELINES = "manage_ingest_pipelines"
    MANAGE_OWN_API_KEY = "manage_own_api_key"
    READ_SECURITY = "read_security"
    MANAGE_SECURITY = "manage_security"


def missing_credentials(uri: str) -> SecurityException:
    return SecurityException(f"missing authentication credentials for REST request [{uri}]", status=401,
                             headers={"WWW-Authenticate": list(WWW_AUTHENTICATE)})


def action_denied(principal: Principal, action: str) -> SecurityException:
    """Elasticsearch's AuthorizationDenialMessages.actionDenied, for a cluster action."""
    subject = principal.describe()
    if not principal.is_api_key:
        effective = effective_roles(principal.roles)
        subject += f" with effective roles [{','.join(effective)}]"
        unfound = sorted(set(principal.roles) - set(effective))
        if unfound:
            subject += f" (assigned roles [{','.join(unfound)}] were not found)"
    reason = f"action [{action}] is unauthorized for {subject}"
    if granting(action):
        reason += f", this action is granted by the cluster privileges [{','.join(granting(action))}]"
    return SecurityException(reason, status=403)


class RequiredPrivilege:
    """A route dependency: the privilege and Elasticsearch action of the route, checked per request."""

    def __init__(self, privilege: Privilege, action: str | None = None) -> None:
        if (privilege is Privilege.ANONYMOUS) != (action is None):
            raise ValueError("every route but an anonymous one names its Elasticsearch action")
        if action is not None and privilege is not Privilege.AUTHENTICATED and privilege.value not in granting(action):
            raise ValueError(f"privilege [{privilege}] does not grant action [{action}]")
        self.privilege = privilege
        self.action = action
        self.granted_by = frozenset(granting(action)) if action is not None else frozenset()

    async def __call__(self, request: Request) -> None:
        principal: Principal | None = request.scope.get(PRINCIPAL)
        if principal is None:
            if self.privilege is Privilege.ANONYMOUS or not request.app.state.security_enabled:
                return
            raise missing_credentials(request.url.path)  # defensive: the middleware authenticates first
        if self.privilege is Privilege.AUTHENTICATED or not self.granted_by.isdisjoint(principal.privileges):
            return
        assert self.action is not None
        raise action_denied(principal, self.action)


def require_privilege(privilege: Privilege, action: str | None = None) -> RequiredPrivilege:
    return RequiredPrivilege(privilege, action)


async def caller(request: Request) -> Principal | None:
    """The authenticated caller (None when security is off or the route is anonymous)."""
    principal: Principal | None = request.scope.get(PRINCIPAL)
    return principal


ANONYMOUS_ACTOR = "_anonymous"


async def actor(request: Request) -> str:
    """Who a deployment's history names for this request: the API key's name, or the user's."""
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None:
        return ANONYMOUS_ACTOR
    return principal.api_key_name or principal.username


Actor = Annotated[str, Depends(actor)]


def declared_requirements(route: APIRoute) -> list[RequiredPrivilege]:
    """The privilege dependencies a route declares, its router's included (exactly one, in a sound app)."""
    found = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, RequiredPrivilege):
            found.append(dependency.call)
        pending.extend(dependency.dependencies)
    return found


def route_requirement(route: APIRoute) -> RequiredPrivilege:
    requirements = declared_requirements(route)
    if len(requirements) != 1:
        raise RuntimeError(f"route {sorted(route.methods or ())} {route.path} must declare exactly one privilege, not "
                           f"{len(requirements)}")
    return requirements[0]
