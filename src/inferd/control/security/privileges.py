"""Cluster privileges and built-in roles, as Elasticsearch defines them, over inferd's actions.

A privilege is a set of action-name patterns (`*` matches anything, `/` included), exactly as in
Elasticsearch's `ClusterPrivilegeResolver`; a role is a set of privileges. A request is allowed when one of
the caller's privileges matches the route's action. inferd's own routes have actions under
`cluster:admin/inferd/` and `cluster:monitor/inferd/`, which the ML privileges cover as well (inferd's own
routes are about the same models and deployments), so `machine_learning_user` reads them and
`machine_learning_admin` changes them.

Pure: no I/O, no HTTP. The per-request check is a set intersection precomputed per route (`granting`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache


@dataclass(frozen=True)
class ClusterPrivilege:
    name: str
    patterns: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    def grants(self, action: str) -> bool:
        return any(fnmatchcase(action, p) for p in self.patterns) and not any(
            fnmatchcase(action, p) for p in self.excluded
        )


_SECURITY = "cluster:admin/xpack/security/*"

# Ordered from least to most privileged, the order Elasticsearch lists them in a 403
# (`ClusterPrivilegeResolver.sortByAccessLevel`: by how many other privileges each implies, then by name).
CLUSTER_PRIVILEGES: tuple[ClusterPrivilege, ...] = (
    ClusterPrivilege("monitor_inference", ("cluster:monitor/xpack/inference*",
                                           "cluster:monitor/xpack/ml/trained_models/deployment/infer")),
    ClusterPrivilege("monitor_ml", ("cluster:monitor/xpack/ml/*", "cluster:monitor/inferd/*")),
    ClusterPrivilege("read_pipeline", ("cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate")),
    ClusterPrivilege("read_security", ("cluster:admin/xpack/security/api_key/get",
                                       "cluster:admin/xpack/security/api_key/query",
                                       "cluster:admin/xpack/security/user/get")),
    ClusterPrivilege("manage_own_api_key", ("cluster:admin/xpack/security/api_key/*",)),
    ClusterPrivilege("manage_inference", ("cluster:admin/xpack/inference/*", "cluster:monitor/xpack/inference*",
                                          "cluster:admin/xpack/ml/trained_models/deployment/start",
                                          "cluster:admin/xpack/ml/trained_models/deployment/stop",
                                          "cluster:monitor/xpack/ml/trained_models/deployment/infer")),
    ClusterPrivilege("manage_ml", ("cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*",
                                   "cluster:admin/inferd/*", "cluster:monitor/inferd/*")),
    ClusterPrivilege("manage_ingest_pipelines", ("cluster:admin/ingest/pipeline/*",)),
    ClusterPrivilege("manage_pipeline", ("cluster:admin/ingest/pipeline/*",)),
    ClusterPrivilege("manage_api_key", ("cluster:admin/xpack/security/api_key/*",)),
    ClusterPrivilege("monitor", ("cluster:monitor/*",)),
    ClusterPrivilege("manage_security", (_SECURITY,)),
    ClusterPrivilege("manage", ("cluster:*",), (_SECURITY,)),
    ClusterPrivilege("all", ("cluster:*",)),
)
PRIVILEGES_BY_NAME = {privilege.name: privilege for privilege in CLUSTER_PRIVILEGES}

OWNER_ONLY_PRIVILEGES = frozenset({"manage_own_api_key"})
"""Privileges that reach only the caller's own API keys (Elasticsearch's conditional privilege)."""

BUILTIN_ROLES: dict[str, tuple[str, ...]] = {
    "superuser": ("all",),
    "machine_learning_admin": ("manage_ml",),
    "machine_learning_user": ("monitor_ml",),
}
"""Elasticsearch's reserved roles that mean something in inferd, with their cluster privileges."""


class UnknownPrivilege(ValueError):
    pass


def check_privilege_names(names: Iterable[str]) -> tuple[str, ...]:
    checked = []
    for name in names:
        if name not in PRIVILEGES_BY_NAME:
            raise UnknownPrivilege(
                f"unknown cluster privilege [{name}]. a privilege must be either one of the predefined cluster "
                f"privilege names [{','.join(sorted(PRIVILEGES_BY_NAME))}] or a pattern over one of the available "
                "cluster actions"
            )
        checked.append(name)
    return tuple(dict.fromkeys(checked))


def privileges_of_roles(roles: Iterable[str]) -> frozenset[str]:
    """The cluster privileges the named roles grant; unknown role names grant nothing (as in Elasticsearch)."""
    return frozenset(name for role in roles for name in BUILTIN_ROLES.get(role, ()))


def effective_roles(roles: Iterable[str]) -> list[str]:
    """The role names that resolved, sorted: what a 403 calls `effective roles`."""
    return sorted({role for role in roles if role in BUILTIN_ROLES})


@cache
def granting(action: str) -> tuple[str, ...]:
    """The privileges that allow `action`, least privileged first."""
    return tuple(privilege.name for privilege in CLUSTER_PRIVILEGES if privilege.grants(action))


def allows(privileges: frozenset[str], action: str) -> bool:
    return not privileges.isdisjoint(granting(action))


def exceeds(requested: frozenset[str], holder: frozenset[str], actions: Iterable[str]) -> list[str]:
    """The actions among `actions` that `requested` would allow and `holder` does not: a key must not
    carry more than whoever creates it. An owner-only privilege counts as less than its unconditional twin."""
    requested_full, holder_full = requested - OWNER_ONLY_PRIVILEGES, holder - OWNER_ONLY_PRIVILEGES
    return [
        action for action in actions
        if (allows(requested, action) and not allows(holder, action))
        or (allows(requested_full, action) and not allows(holder_full, action))
    ]
