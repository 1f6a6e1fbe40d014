"""Built-in roles, cluster privileges and the actions they grant, as Elasticsearch defines them."""

import pytest

from inferd.control.security.privileges import (
    BUILTIN_ROLES,
    UnknownPrivilege,
    allows,
    check_privilege_names,
    effective_roles,
    exceeds,
    granting,
    privileges_of_roles,
)

INFER = "cluster:monitor/xpack/ml/inference/infer"
PUT_MODEL = "cluster:admin/xpack/ml/inference/put"
START = "cluster:admin/xpack/ml/trained_models/deployment/start"
STATS = "cluster:monitor/xpack/ml/inference/stats/get"
MAIN = "cluster:monitor/main"
CREATE_KEY = "cluster:admin/xpack/security/api_key/create"
PUT_USER = "cluster:admin/xpack/security/user/put"
NODES = "cluster:monitor/inferd/nodes/get"
FAIL_NODE = "cluster:admin/inferd/nodes/fail"


def test_builtin_roles_are_elasticsearchs() -> None:
    assert BUILTIN_ROLES == {"superuser": ("all",), "machine_learning_admin": ("manage_ml",),
                             "machine_learning_user": ("monitor_ml",)}
    assert privileges_of_roles(["machine_learning_user", "no_such_role"]) == {"monitor_ml"}
    assert effective_roles(["no_such_role", "superuser", "machine_learning_user"]) == ["machine_learning_user",
                                                                                      "superuser"]


@pytest.mark.parametrize("role, allowed, refused", [
    ("machine_learning_user", {INFER, STATS, NODES}, {PUT_MODEL, START, MAIN, CREATE_KEY, PUT_USER, FAIL_NODE}),
    ("machine_learning_admin", {INFER, STATS, NODES, PUT_MODEL, START, FAIL_NODE}, {MAIN, CREATE_KEY, PUT_USER}),
    ("superuser", {INFER, STATS, NODES, PUT_MODEL, START, FAIL_NODE, MAIN, CREATE_KEY, PUT_USER}, set()),
])
def test_role_to_privilege_mapping(role: str, allowed: set[str], refused: set[str]) -> None:
    privileges = privileges_of_roles([role])
    assert {action for action in allowed | refused if allows(privileges, action)} == allowed


def test_granting_lists_least_privileged_first_as_a_403_does() -> None:
    assert granting(PUT_MODEL) == ("manage_ml", "manage", "all")
    assert granting(STATS) == ("monitor_ml", "manage_ml", "monitor", "manage", "all")
    assert granting(MAIN) == ("monitor", "manage", "all")
    assert granting(CREATE_KEY) == ("manage_own_api_key", "manage_api_key", "manage_security", "all")
    assert granting(START) == ("manage_inference", "manage_ml", "manage", "all")
    assert "manage" not in granting(PUT_USER)  # manage excludes security, as in Elasticsearch


def test_a_key_may_not_exceed_its_creator() -> None:
    actions = [INFER, PUT_MODEL, MAIN, CREATE_KEY, PUT_USER]
    assert exceeds(frozenset({"all"}), frozenset({"manage_ml"}), actions) == [MAIN, CREATE_KEY, PUT_USER]
    assert exceeds(frozenset({"monitor_ml"}), frozenset({"manage_ml"}), actions) == []
    assert exceeds(frozenset({"manage_ml"}), frozenset({"all"}), actions) == []
    # owner-only key management is less than managing every key, though both reach the same actions
    assert exceeds(frozenset({"manage_api_key"}), frozenset({"manage_own_api_key"}), [CREATE_KEY]) == [CREATE_KEY]
    assert exceeds(frozenset({"manage_own_api_key"}), frozenset({"manage_api_key"}), [CREATE_KEY]) == []


def test_unknown_privilege_names_are_refused() -> None:
    assert check_privilege_names(["monitor_ml", "monitor_ml"]) == ("monitor_ml",)
    with pytest.raises(UnknownPrivilege, match=r"unknown cluster privilege \[superuser\]"):
        check_privilege_names(["superuser"])


def test_read_security_may_query_keys_but_not_change_them() -> None:
    assert allows(frozenset({"read_security"}), "cluster:admin/xpack/security/api_key/query")
    for action in ("update", "invalidate", "create"):
        assert not allows(frozenset({"read_security"}), f"cluster:admin/xpack/security/api_key/{action}")
    assert allows(frozenset({"manage_own_api_key"}), "cluster:admin/xpack/security/api_key/update")
