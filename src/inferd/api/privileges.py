"""The privilege each route needs. Routes declare it now; the security issue switches enforcement on."""

from __future__ import annotations

from enum import StrEnum

from fastapi import Request


class Privilege(StrEnum):
    ANONYMOUS = "anonymous"
    MONITOR_ML = "monitor_ml"
    MANAGE_ML = "manage_ml"
    MANAGE_SECURITY = "manage_security"


class RequiredPrivilege:
    """A route dependency naming the privilege the caller must hold."""

    def __init__(self, privilege: Privilege) -> None:
        self.privilege = privilege

    async def __call__(self, request: Request) -> None:
        request.state.required_privilege = self.privilege


def require_privilege(privilege: Privilege) -> RequiredPrivilege:
    return RequiredPrivilege(privilege)
