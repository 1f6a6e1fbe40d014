"""What the fuzz tests need besides schemathesis: who they call as, what they may write to, and what an
Elasticsearch error looks like.

`fuzz_identities` is the one place the fuzz tests learn their credentials; every run repeats as each of them.
`OwnedTargets` makes fresh models and builds that belong to the run, so that uploads reach past the 404 of a
random id without touching the echo model whose answers the run checks at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from inferd.api.dialects import Dialect, dialect_of

from tests.support.server import ServerProcess, auth_headers

FUZZ_PRIVILEGES = frozenset({"manage_ml", "monitor_ml"})
OWN_KEY_PRIVILEGES = frozenset({"manage_own_api_key", "monitor_ml"})
"""What `own_keys` holds: it creates, reads and invalidates API keys, only its own (an API key owns itself and
the keys it creates no more than that: Elasticsearch's rule, which also refuses it any update)."""
OWNED_MODEL = "fuzz-owned"
"""The model whose fresh builds the build-scoped uploads and deletes are steered to."""


@dataclass(frozen=True)
class Identity:
    headers: dict[str, str]
    privileges: frozenset[str] | None
    """Its cluster privileges; None for nobody (no credentials)."""
    key_id: str | None = None
    """The id of the API key it calls with, if it does."""


def fuzz_identities(server: ServerProcess) -> dict[str, Identity]:
    """Each identity the fuzz run calls as, by name: nobody; a key minted for the run with `manage_ml` and
    `monitor_ml` (never the admin key, which the run could otherwise invalidate), so the fuzzer reaches past
    authentication into every ML operation; and a key that may manage only its own API keys, so the key endpoints
    are fuzzed past authorization without reaching anyone else's key."""
    return {"anonymous": Identity({}, None),
            "ml_admin": mint_key(server, "fuzz", FUZZ_PRIVILEGES),
            "own_keys": mint_key(server, "fuzz-own-keys", OWN_KEY_PRIVILEGES)}


def mint_key(server: ServerProcess, name: str, privileges: frozenset[str]) -> Identity:
    """A fresh API key with exactly `privileges`, minted with the admin key."""
    response = httpx.post(f"{server.url}/_security/api_key", headers=auth_headers(server.url), timeout=60, json={
        "name": name, "role_descriptors": {name: {"cluster": sorted(privileges)}}})
    response.raise_for_status()
    created = response.json()
    return Identity({"Authorization": f"ApiKey {created['encoded']}"}, privileges, created["id"])


class OwnedTargets:
    """Fresh path parameters for the operations that only mean something on a model or build nobody uses yet."""

    def __init__(self, server: ServerProcess, config: dict[str, Any]) -> None:
        self._http = httpx.Client(base_url=server.url, headers=auth_headers(server.url), timeout=60)
        self._config = config
        self._numbers = itertools.count()
        self._put_model(OWNED_MODEL)
        models, builds = "/_ml/trained_models/{model_id}", "/_inferd/models/{model_id}/builds/{build}"
        self.makers: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
            ("PUT", models): self.unused_model_id,
            ("DELETE", models): self.new_model,
            ("PUT", f"{models}/definition/{{part}}"): lambda: {**self.new_model(), "part": 0},
            ("PUT", f"{models}/vocabulary"): self.new_model,
            ("DELETE", builds): self.new_build,
            ("PUT", f"{builds}/definition/{{part}}"): lambda: {**self.new_build(), "part": 0},
            ("PUT", f"{builds}/vocabulary"): self.new_build,
        }
        """(method, path) -> what makes a fresh target for that operation. An upload's is the first part of a fresh
        definition: `part < total_parts` spans path and body, which no schema can say."""

    def close(self) -> None:
        self._http.close()

    def new_model(self) -> dict[str, Any]:
        """A model with its config only: it takes definition parts and a vocabulary, and can be deleted."""
        model_id = f"{OWNED_MODEL}-{next(self._numbers)}"
        self._put_model(model_id)
        return {"model_id": model_id}

    def unused_model_id(self) -> dict[str, Any]:
        return {"model_id": f"{OWNED_MODEL}-{next(self._numbers)}"}

    def new_build(self) -> dict[str, Any]:
        """An empty build of the owned model: it takes parts and a vocabulary, and can be deleted."""
        response = self._http.put(f"/_inferd/models/{OWNED_MODEL}/builds")
        assert response.status_code == 200, response.text
        return {"model_id": OWNED_MODEL, "build": response.json()["build_number"]}

    def _put_model(self, model_id: str) -> None:
        response = self._http.put(f"/_ml/trained_models/{model_id}", json=self._config)
        assert response.status_code == 200, response.text


def error_problems(path: str, status: int, body: Any, query: Mapping[str, Any] | None = None) -> list[str]:
    """How an error body departs from the shape of the API its path belongs to: OpenAI's and TEI's routes answer in
    their own (`inferd.api.dialects`), every other route in Elasticsearch's."""
    dialect = dialect_of(path)
    if dialect is Dialect.OPENAI:
        return openai_error_problems(body)
    if dialect is Dialect.TEI:
        return tei_error_problems(body)
    return elasticsearch_error_problems(status, body, query)


def openai_error_problems(body: Any) -> list[str]:
    """OpenAI's error: `{"error": {"message", "type", "param", "code"}}`, message and type non-empty strings."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return [f"not OpenAI's error shape: {body!r:.200}"]
    problems = [f"[error.{name}] is missing or empty" for name in ("message", "type")
                if not isinstance(error.get(name), str) or not error.get(name)]
    return problems + [f"[error.{name}] is missing" for name in ("param", "code") if name not in error]


def tei_error_problems(body: Any) -> list[str]:
    """TEI's error: `{"error": message, "error_type": one of its kinds}`."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return [f"not TEI's error shape: {body!r:.200}"]
    kinds = ("Validation", "Tokenizer", "Backend", "Overloaded", "Unhealthy", "Empty")
    return [] if body.get("error_type") in kinds else [f"[error_type] is {body.get('error_type')!r}, not TEI's"]


def elasticsearch_error_problems(status: int, body: Any, query: Mapping[str, Any] | None = None) -> list[str]:
    """How an error body departs from Elasticsearch's shape (empty when it is one). A request with `filter_path`
    may filter the error's fields away, as Elasticsearch does (`?filter_path=null` answers `{}`): only its being a
    JSON object is checked then."""
    if query and "filter_path" in query:
        return [] if isinstance(body, dict) else [f"the body is not a JSON object: {body!r:.200}"]
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
