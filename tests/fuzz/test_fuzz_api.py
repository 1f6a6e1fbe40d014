"""Fuzzing every operation of the OpenAPI description against a real server, as every identity it knows.

Each generated request must get an answer below 500, every error in Elasticsearch's shape; afterwards the server
still answers a deployed echo model's `_infer` correctly and its stored definition is unchanged. Each operation is
fuzzed with generated ids, with the echo model's, and (uploads and deletes) with a fresh model or build the run owns,
so that they reach past the 404; every write operation must get a 2xx from an identity allowed to call it.

CI runs a short pass (`INFERD_FUZZ_EXAMPLES`, default 10 requests per operation that fit the schema and 10 that
break it); a long one:

    INFERD_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode

from tests.support.api import echo_rows
from inferd.api.app import create_app
from inferd.api.privileges import Privilege, route_requirement
from inferd.settings import Settings
from tests.support.fuzz import Identity, OwnedTargets, error_problems, fuzz_identities, mint_key
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess, auth_headers, client_for, http_for

EXAMPLES = int(os.environ.get("INFERD_FUZZ_EXAMPLES", "10"))
ECHO_ID = "fuzz-echo"
TEXT = "hello world"
CALLS: Counter[tuple[str, str, str]] = Counter()  # (identity, operation, status class) -> requests
CHANGES: list[str] = []  # the requests that named the echo model and changed something (2xx PUT, POST, DELETE)
STOPS: list[str] = []  # the requests that stopped the echo deployment without naming it
RENEWED: list[str] = []  # the identities whose key a request of their own invalidated, minted again


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, echo_model: TestModel) -> Iterator[ServerProcess]:
    """One server for the whole run, with the echo model deployed under `fuzz-echo`."""
    server = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", extra_env={
        "INFERD_PROCESSORS": "8", "INFERD_ML_MEMORY": "16gb", "INFERD_DEFINITION_CHECK_TIMEOUT_S": "30",
        "INFERD_MAX_DEPLOYMENTS": "4",  # requests that start deployments of the echo model start at most three
    }).start()
    es = client_for(server.url)
    upload_test_model(es, ECHO_ID, echo_model)
    es.ml.start_trained_model_deployment(model_id=ECHO_ID, wait_for="started")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def identities(fuzz_server: ServerProcess) -> dict[str, Identity]:
    return fuzz_identities(fuzz_server)


@pytest.fixture(scope="module")
def owned(fuzz_server: ServerProcess, echo_model: TestModel) -> Iterator[OwnedTargets]:
    targets = OwnedTargets(fuzz_server, echo_model.config)
    yield targets
    targets.close()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_server: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/_inferd/openapi.json", headers=auth_headers(fuzz_server.url))


@pytest.fixture(scope="module", autouse=True)
def examples_table(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many requests each operation got, and their answers by status class."""
    yield
    operations = sorted({(who, operation) for who, operation, _ in CALLS})
    classes = ("2xx", "4xx", "5xx", "skipped")
    lines = [f"fuzz: {sum(CALLS.values())} requests, INFERD_FUZZ_EXAMPLES={EXAMPLES}",
             f"{'identity':<10} {'operation':<66} {'requests':>8} " + " ".join(f"{c:>7}" for c in classes)]
    for who, operation in operations:
        counts = [CALLS[(who, operation, status)] for status in classes]
        lines.append(f"{who:<10} {operation:<66} {sum(counts):>8} " + " ".join(f"{c:>7}" for c in counts))
    lines += [f"key renewed: {renewal:.300}" for renewal in RENEWED]
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    for line in lines:
        reporter.write_line(line) if reporter is not None else print(line)
    if os.environ.get("INFERD_FUZZ_REPORT"):
        Path(os.environ["INFERD_FUZZ_REPORT"]).write_text("\n".join(lines) + "\n")


# Losing a virtual node is what `_fail` is for; it would take the echo deployment's only node away.
EXCLUDED = re.compile(r"/_fail$")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_request_gets_a_server_error(
    fuzz_schema: schemathesis.BaseSchema, fuzz_server: ServerProcess, identities: dict[str, Identity],
    owned: OwnedTargets, mode: GenerationMode,
) -> None:
    """Every operation gets EXAMPLES generated requests (valid ones, then ones that break the schema) per choice of
    ids, each sent once as each identity `tests/support/fuzz.py` knows. Failures are collected over all operations."""
    failures: list[str] = []
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()
        if EXCLUDED.search(operation.path):
            continue

        # Random ids mostly meet a 404; the echo model's id takes the same requests into the deployed model, and a
        # fresh model or build of the run's own takes uploads and deletes to where they can succeed.
        named = [name for name in ("model_id", "deployment_id") if f"{{{name}}}" in operation.path]
        ids: list[dict[str, str] | None] = [None, *({name: ECHO_ID} for name in named)]
        make_target = owned.makers.get((operation.method.upper(), operation.path))
        for fixed in [*ids, *(["owned"] if make_target else [])]:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=None if fixed == "owned" else fixed)
            target = make_target if fixed == "owned" else None
            send = fuzz_test(strategy, fuzz_server, identities, target,
                             real_inputs=bool(fixed) and mode is GenerationMode.POSITIVE)
            try:
                send()
            except AssertionError as failure:
                failures.append(f"{operation.label} (ids {fixed or 'generated'}): {failure}")
            except Unsatisfiable:
                pass  # nothing in this operation can be made invalid (negative mode)
    assert not failures, "\n".join(failures)


def fuzz_test(strategy: SearchStrategy[schemathesis.Case], server: ServerProcess, identities: dict[str, Identity],
              target: Callable[[], dict[str, Any]] | None, *, real_inputs: bool) -> Callable[[], None]:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.generate, Phase.shrink])
    @given(case=strategy)
    def send(case: schemathesis.Case) -> None:
        if target is not None:
            case.path_parameters = {**(case.path_parameters or {}), **target()}
        if real_inputs:
            name_the_input_field(case)
        check_answer(case, server, identities)

    return send


def name_the_input_field(case: schemathesis.Case) -> None:
    """Generated documents name random fields; the echo model reads `text_field`, so give each document one (its
    first generated text), and the request reaches tokenization, the model and the task's post-processing."""
    if case.path.endswith("/_infer") and isinstance(case.body, dict) and isinstance(case.body.get("docs"), list):
        for document in case.body["docs"]:
            if isinstance(document, dict):
                texts = [value for value in document.values() if isinstance(value, str)]
                document["text_field"] = texts[0] if texts else ""


def check_answer(case: schemathesis.Case, server: ServerProcess, identities: dict[str, Identity]) -> None:
    for who, identity in identities.items():
        operation = f"{case.method.upper()} {case.path}"
        if _removes_the_echo_deployment(case):
            CALLS[(who, operation, "skipped")] += 1
            continue
        response = case.call(base_url=server.url, headers=identity.headers, timeout=60)
        CALLS[(who, operation, f"{response.status_code // 100}xx")] += 1
        changed = response.status_code < 300 and case.method.upper() in ("PUT", "POST", "DELETE")
        request = f"{case.method.upper()} {case.formatted_path:.200} query={case.query} body={case.body!r:.200}"
        if changed and ECHO_ID in case.formatted_path and not case.path.endswith("/_infer"):
            CHANGES.append(request)
        elif changed and (case.path.endswith("/_stop") or case.method.upper() == "DELETE") and not _echo_deployed(server):
            STOPS.append(request)  # legitimate (a pattern or alias the skip missed): start it again for what follows
            started = httpx.post(f"{server.url}/_ml/trained_models/{ECHO_ID}/deployment/_start", timeout=60,
                                 headers=auth_headers(server.url))
            assert started.status_code == 200, f"after {request}, the echo deployment cannot start: {started.text}"
        if identity.key_id is not None and _invalidated(case, response, identity.key_id):
            identities[who] = mint_key(server, f"fuzz-{who}-renewed", identity.privileges or frozenset())
            RENEWED.append(f"{who} after {request}")  # it invalidated its own key: the rest of the run needs one
        described = (f"as {who}: {case.method.upper()} {case.formatted_path} query={case.query} "
                     f"headers={case.headers} body={case.body!r:.300}")
        assert response.status_code < 500, f"{described} -> {response.status_code} {response.text[:500]}"
        if response.status_code >= 400 and case.method.upper() != "HEAD":
            problems = error_problems(case.path, response.status_code, _json(response), case.query)
            assert not problems, f"{described} -> {response.status_code} {response.text[:300]}: {problems}"


def _removes_the_echo_deployment(case: schemathesis.Case) -> bool:
    """A stop or delete that names the echo deployment (schemathesis reuses ids it saw in responses; inferd's own
    `_stop` takes its exact id): it would do what it is meant to, and the final check needs the deployment."""
    parameters = case.path_parameters or {}
    model_id = str(parameters.get("model_id", ""))
    names = [name.strip() for name in model_id.split(",")]
    named = any(fnmatch.fnmatchcase(ECHO_ID, name) or name == "_all" for name in names)
    stops = case.method.upper() == "POST" and case.path.endswith("/deployment/_stop")
    deletes = case.method.upper() == "DELETE" and case.path == "/_ml/trained_models/{model_id}"
    inferd_stop = case.method.upper() == "POST" and case.path == "/_inferd/deployments/{deployment_id}/_stop"
    return (named and (stops or deletes)) or (inferd_stop and parameters.get("deployment_id") == ECHO_ID)


def _invalidated(case: schemathesis.Case, response: Any, key_id: str) -> bool:
    """Whether an invalidation just invalidated the key the caller called with."""
    if case.method.upper() != "DELETE" or case.path != "/_security/api_key" or response.status_code >= 300:
        return False
    answer = _json(response)
    return isinstance(answer, dict) and key_id in answer.get("invalidated_api_keys", [])


def _echo_deployed(server: ServerProcess) -> bool:
    stats = httpx.get(f"{server.url}/_ml/trained_models/{ECHO_ID}/_stats", timeout=60,
                      headers=auth_headers(server.url)).json()
    return any(entry.get("deployment_stats", {}).get("deployment_id") == ECHO_ID
               for entry in stats.get("trained_model_stats", []))


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


WRITES = ("PUT", "POST", "DELETE")
NO_2XX_EXPECTED = {
    "PUT /_security/api_key/{id}": "only a user updates API keys (Elasticsearch refuses an API key), and the one "
                                   "identity that may call it, own_keys, is a key: no built-in role grants a user "
                                   "manage_own_api_key without more",
    "POST /_ml/trained_models/{model_id}/deployment/_start": "the echo model runs already; no other model is ready",
    "POST /_inferd/deployments/{deployment_id}/_rollback": "only a deployment with an earlier build rolls back",
    "POST /_inferd/deployments/{deployment_id}/_restart": "a restart needs room for a second worker beside the "
                                                          "echo's, which the run's own deployments may hold",
    "POST /_inferd/deployments/{deployment_id}/_start": "only a stopped deployment starts again, and the run never "
                                                        "stops the echo deployment (its stops are skipped)",
    "POST /_inferd/deployments/{deployment_id}/_stop": "it takes an exact id, and the one it is steered to, the echo "
                                                       "deployment's, is skipped (tests/integration/test_rollouts.py "
                                                       "stops and starts deployments)",
    "POST /_inferd/nodes/{node_id}/_recover": "only a failed node recovers, and `_fail` is not fuzzed",
    **dict.fromkeys(
        ("POST /v1/embeddings", "POST /embed", "POST /embed_sparse", "POST /rerank"),
        "the run's one deployment is the echo model (pass_through), and these answer only text_embedding, "
        "text_expansion or text_similarity deployments; tests/integration/test_wider_surface.py has their successes"),
}
"""Write operations the run cannot bring to success, and why."""


def test_every_write_operation_got_a_2xx(tmp_path: Path, identities: dict[str, Identity]) -> None:
    """Runs after the fuzz tests (file order): each write operation an identity may call got at least one 2xx from
    it, so the run demonstrably reached past validation; those that cannot are named above with the reason."""
    app = create_app(Settings(data_dir=tmp_path))
    missing = []
    for route in app.state.api_routes:
        requirement = route_requirement(route)
        for method in sorted(route.methods & set(WRITES)):
            operation = f"{method} {route.path}"
            if EXCLUDED.search(route.path) or not route.include_in_schema:  # the console's own: not described
                continue
            allowed = [who for who, identity in identities.items() if identity.privileges is not None and (
                requirement.privilege is Privilege.AUTHENTICATED or not requirement.granted_by.isdisjoint(
                    identity.privileges))]
            if allowed and operation not in NO_2XX_EXPECTED and not any(CALLS[(who, operation, "2xx")] for who in allowed):
                missing.append(operation)
    assert not missing, f"no 2xx for an authorized identity: {missing}"


def test_the_server_still_serves_after_the_fuzzing(fuzz_server: ServerProcess, echo_model: TestModel) -> None:
    """Runs after the fuzz tests (file order): the deployment answers correctly and its model is unchanged."""
    with http_for(fuzz_server.url) as http:
        assert http.get("/_inferd/ready").status_code == 200
        # The fuzz may have resized the deployment legitimately, or stopped it with a pattern or an alias the skip
        # above does not foresee: start it again if it is gone, then size it back to one allocation (which a
        # deployment whose routes are failed cannot do).
        summary: dict[str, Any] = {"last_changes": CHANGES[-15:], "stopped_by": STOPS}
        if not _echo_deployed(fuzz_server):
            started = http.post(f"/_ml/trained_models/{ECHO_ID}/deployment/_start")
            assert started.status_code == 200, (started.text, summary)
            summary["started_again"] = True
        stats = http.get(f"/_ml/trained_models/{ECHO_ID}/_stats").json()["trained_model_stats"]
        left = [entry["deployment_stats"] for entry in stats if entry.get("deployment_stats", {}).get(
            "deployment_id") == ECHO_ID]
        summary |= {name: left[0].get(name) for name in ("state", "allocation_status", "adaptive_allocations")}
        print(f"the echo deployment after the fuzz: {summary}")
        resized = http.post(f"/_ml/trained_models/{ECHO_ID}/deployment/_update",
                            json={"number_of_allocations": 1, "adaptive_allocations": {"enabled": False}})
        assert resized.status_code == 200, (resized.text, summary)
        answer = http.post(f"/_ml/trained_models/{ECHO_ID}/_infer", json={"docs": [{"text_field": TEXT}]})
        assert answer.status_code == 200, (answer.text, summary)
        assert answer.json()["inference_results"][0]["predicted_value"] == echo_rows(TEXT)
        config = http.get(f"/_ml/trained_models/{ECHO_ID}", params={"include": "definition_status"}).json()
        stored = config["trained_model_configs"][0]
        assert stored["fully_defined"] is True
        assert stored["inferd"]["definition_sha256"] == hashlib.sha256(echo_model.definition_path.read_bytes()).hexdigest()
