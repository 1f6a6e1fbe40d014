"""Every route declares exactly one privilege and an Elasticsearch action, enforced in one place."""

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Route

from inferd.api.app import create_app
from inferd.api.privileges import Privilege, RequiredPrivilege, declared_requirements, require_privilege, route_requirement
from inferd.control.security import granting
from inferd.settings import Settings


ANONYMOUS_ROUTES = ("/_inferd/health", "/_inferd/ready", "/_inferd/console", "/_inferd/console/",
                    "/_inferd/console/assets/{name:path}")


def test_every_route_declares_one_privilege_and_an_action(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    routes: list[APIRoute] = app.state.api_routes
    assert len(routes) >= 30
    table = {(method, route.path): declared_requirements(route) for route in routes for method in route.methods}
    assert all(len(requirements) == 1 for requirements in table.values()), table
    assert table[("PUT", "/_ml/trained_models/{model_id}")][0].privilege == Privilege.MANAGE_ML
    assert table[("GET", "/_ml/trained_models/{model_id}")][0].privilege == Privilege.MONITOR_ML
    assert table[("GET", "/_inferd/ready")][0].privilege == Privilege.ANONYMOUS
    for (method, path), [requirement] in table.items():
        if requirement.privilege is Privilege.ANONYMOUS:
            assert path in ANONYMOUS_ROUTES and method == "GET" and requirement.action is None
        else:
            assert requirement.action and requirement.action.startswith("cluster:"), (method, path)


def test_the_app_has_no_route_outside_the_table(tmp_path: Path) -> None:
    """FastAPI's own docs routes are replaced by declared ones: nothing is served without a privilege."""
    app = create_app(Settings(data_dir=tmp_path))
    table = {id(route) for route in app.state.api_routes}
    for entry in app.routes:  # FastAPI keeps each included router as one entry
        router = getattr(entry, "original_router", None)
        routes = router.routes if router is not None else [entry]
        for route in routes:
            assert isinstance(route, APIRoute) and id(route) in table, f"{route} is served without a declared privilege"
    assert not [route for route in app.routes if isinstance(route, Route)]


def test_a_route_without_a_privilege_cannot_be_built() -> None:
    router = APIRouter()

    @router.get("/nothing")
    async def nothing() -> None: ...

    (route,) = [r for r in router.routes if isinstance(r, APIRoute)]
    with pytest.raises(RuntimeError, match="exactly one privilege"):
        route_requirement(route)


def test_a_declared_privilege_must_grant_the_declared_action() -> None:
    with pytest.raises(ValueError, match="does not grant"):
        require_privilege(Privilege.MONITOR_ML, "cluster:admin/xpack/ml/inference/put")
    with pytest.raises(ValueError, match="names its Elasticsearch action"):
        require_privilege(Privilege.MANAGE_ML)
    assert isinstance(require_privilege(Privilege.ANONYMOUS), RequiredPrivilege)


def test_the_anonymous_paths_are_health_readiness_and_the_consoles_page_and_assets(tmp_path: Path) -> None:
    """The console's page and assets hold no data: it signs in by itself, and everything it shows comes from the
    authenticated API."""
    app = create_app(Settings(data_dir=tmp_path))
    middleware = [m for m in app.user_middleware if m.cls.__name__ == "AuthenticationMiddleware"]
    assert len(middleware) == 1
    assert middleware[0].kwargs["anonymous_paths"] == frozenset(
        {"/_inferd/health", "/_inferd/ready", "/_inferd/console", "/_inferd/console/"})
    assert middleware[0].kwargs["anonymous_prefixes"] == ("/_inferd/console/assets/",)


def test_no_security_builds_no_authentication_middleware(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, security_enabled=False))
    assert not [m for m in app.user_middleware if m.cls.__name__ == "AuthenticationMiddleware"]


def test_inferd_actions_are_covered_by_the_ml_privileges(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    for route in app.state.api_routes:
        action = route_requirement(route).action
        if action and "/inferd/" in action:
            expected = "manage_ml" if action.startswith("cluster:admin/") else "monitor_ml"
            assert expected in granting(action), action


