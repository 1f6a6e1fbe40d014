"""What the fuzz test needs besides schemathesis: who it calls as, and what an Elasticsearch error looks like.

`fuzz_identities` is the one place the fuzz test learns its credentials; the whole run repeats as each of them.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.server import ServerProcess, auth_headers


def fuzz_identities(server: ServerProcess) -> dict[str, dict[str, str]]:
    """The headers each identity the fuzz run calls as sends, by name: nobody, and a key minted for the run with
    `manage_ml` and `monitor_ml` (never the admin key, which the run could otherwise invalidate), so the fuzzer
    reaches past authentication into every ML operation."""
    response = httpx.post(f"{server.url}/_security/api_key", headers=auth_headers(server.url), timeout=60, json={
        "name": "fuzz", "role_descriptors": {"fuzz": {"cluster": ["manage_ml", "monitor_ml"]}}})
    response.raise_for_status()
    return {"anonymous": {}, "ml_admin": {"Authorization": f"ApiKey {response.json()['encoded']}"}}


def elasticsearch_error_problems(status: int, body: Any) -> list[str]:
    """How an error body departs from Elasticsearch's shape (empty when it is one)."""
    if not isinstance(body, dict):
        return [f"the body is not a JSON object: {body!r:.200}"]
    problems = []
    if body.get("status") != status:
        problems.append(f"[status] is {body.get('status')!r}, not the response's {status}")
    error = body.get("error")
    if not isinstance(error, dict):
        return [*problems, f"[error] is not an object: {error!r:.200}"]
    for name in ("type", "reason"):
        if not isinstance(error.get(name), str) or not error.get(name):
            problems.append(f"[error.{name}] is missing or empty")
    causes = error.get("root_cause")
    if not isinstance(causes, list) or not causes or not all(
        isinstance(cause, dict) and isinstance(cause.get("type"), str) and isinstance(cause.get("reason"), str)
        for cause in causes
    ):
        problems.append(f"[error.root_cause] is not a list of {{type, reason}}: {causes!r:.200}")
    return problems
