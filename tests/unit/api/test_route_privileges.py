"""Every route declares exactly one privilege, so the security issue can switch enforcement on in one place."""

from pathlib import Path

from fastapi.routing import APIRoute

from inferd.api.app import create_app
from inferd.api.privileges import Privilege, RequiredPrivilege
from inferd.settings import Settings


def declared(route: APIRoute) -> list[Privilege]:
    found = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, RequiredPrivilege):
            found.append(dependency.call.privilege)
        pending.extend(dependency.dependencies)
    return found


def test_every_route_declares_one_privilege(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    routes: list[APIRoute] = app.state.api_routes
    assert len(routes) >= 12
    table = {(method, route.path): declared(route) for route in routes for method in route.methods}
    assert all(len(privileges) == 1 for privileges in table.values()), table
    assert table[("PUT", "/_ml/trained_models/{model_id}")] == [Privilege.MANAGE_ML]
    assert table[("GET", "/_ml/trained_models/{model_id}")] == [Privilege.MONITOR_ML]
    assert table[("GET", "/_inferd/ready")] == [Privilege.ANONYMOUS]
