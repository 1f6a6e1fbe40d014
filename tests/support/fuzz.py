"""What the fuzz test needs besides schemathesis: who it calls as, and what an Elasticsearch error looks like.

`fuzz_identities` is the one place the fuzz test learns its credentials. Until the security issue lands every
request is anonymous; once it does, add each identity the server knows (an admin API key, a read-only key) as
another entry, built from the server's credentials, and the whole run repeats as each of them.
"""

from __future__ import annotations

from typing import Any

from tests.support.server import ServerProcess


def fuzz_identities(server: ServerProcess) -> dict[str, dict[str, str]]:
    """The headers each identity the fuzz run calls as sends, by name."""
    return {"anonymous": {}}


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
