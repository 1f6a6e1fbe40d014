"""The builds and deployments commands against a scripted server: the requests they send, what they print where,
and their exit codes (0 succeeded, 1 failed, 2 misuse, 3 the wait timed out)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from inferd.cli import builds, deployments
from inferd.cli.main import app

Route = Callable[[dict[str, Any]], Any]


class ScriptedServer:
    """Answers (method, path) from a script: a value, or a list whose items are answered in turn (the last
    one repeats); records each request."""

    def __init__(self, script: dict[tuple[str, str], Any]) -> None:
        self.script = script
        self.requests: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = []

    def perform_request(self, method: str, path: str, *, params: Any = None, body: Any = None, **_: Any) -> Any:
        self.requests.append((method, path, params, body))
        answer = self.script[(method, path)]
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        return type("Response", (), {"body": answer})()

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _, _ in self.requests]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    def run(server: ScriptedServer, *args: str) -> Any:
        for module in (builds, deployments):
            monkeypatch.setattr(module, "client", lambda *_, **__: server)
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})  # error boxes unwrapped
    return run


def rollout(stage: str, outcome: str = "in_progress", reason: str | None = None) -> dict[str, Any]:
    return {"action": "redeploy", "stage": stage, "outcome": outcome, "from": {"build_number": 1},
            "to": {"build_number": 2}, "start_time": 1764560000000, "end_time": None, "reason": reason}


def view(current: dict[str, Any] | None, lifecycle: str = "deploying") -> dict[str, Any]:
    return {"deployment_id": "d", "model_id": "m", "build_number": 2, "lifecycle": lifecycle, "state": "started",
            "settings": {"number_of_allocations": 1}, "routes": [], "rollout": current, "start_time": 1764560000000}


def redeploying(*views: dict[str, Any]) -> ScriptedServer:
    return ScriptedServer({
        ("POST", "/_inferd/deployments/d/_redeploy"): {"deployment": view(rollout("starting")),
                                                       "rollout": rollout("starting")},
        ("GET", "/_inferd/deployments/d"): list(views),
    })


def test_redeploy_waits_for_success_and_prints_only_json(run: Callable[..., Any]) -> None:
    server = redeploying(view(rollout("draining")), view(rollout("done", "succeeded"), "deployed"))
    result = run(server, "deployments", "redeploy", "d", "--build", "2", "--threads", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["rollout"]["outcome"] == "succeeded" and printed["deployment"]["lifecycle"] == "deployed"
    assert "redeploy of d done" in result.stderr
    method, path, params, body = server.requests[0]
    assert params == {"wait_for": "none"} and body == {"build": 2, "threads_per_allocation": 2}


def test_a_failed_rollout_exits_1_with_its_reason(run: Callable[..., Any]) -> None:
    server = redeploying(view(rollout("verifying", "failed", "inference failed: boom"), "deployed"))
    result = run(server, "deployments", "redeploy", "d")
    assert result.exit_code == 1 and "failed: inference failed: boom" in result.stderr
    assert "lifecycle" in result.stdout  # the deployment as it is left, for people


def test_a_wait_past_its_timeout_exits_3(run: Callable[..., Any]) -> None:
    result = run(redeploying(view(rollout("starting"))), "deployments", "redeploy", "d", "--timeout", "0s")
    assert result.exit_code == 3 and "still starting after 0s" in result.stderr


def test_no_wait_prints_the_answer_and_polls_nothing(run: Callable[..., Any]) -> None:
    server = redeploying()
    result = run(server, "deployments", "redeploy", "d", "--no-wait", "-o", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["rollout"]["stage"] == "starting"
    assert server.paths() == ["POST /_inferd/deployments/d/_redeploy"]


def test_stop_and_start_again_are_inferds_own_calls(run: Callable[..., Any]) -> None:
    server = ScriptedServer({("POST", "/_inferd/deployments/d/_stop"): view(None, "stopped"),
                             ("POST", "/_inferd/deployments/d/_start"): view(None, "deployed")})
    stopped = run(server, "deployments", "stop", "d", "-o", "json")
    assert stopped.exit_code == 0 and json.loads(stopped.stdout)["lifecycle"] == "stopped"
    assert run(server, "deployments", "start", "d", "--again", "--wait-for", "fully_allocated").exit_code == 0
    assert run(server, "deployments", "start", "d", "--again", "--no-wait", "--timeout", "1m").exit_code == 0
    assert [(path, params) for _, path, params, _ in server.requests] == [
        ("/_inferd/deployments/d/_stop", None),
        ("/_inferd/deployments/d/_start", {"wait_for": "fully_allocated", "timeout": "5m"}),
        ("/_inferd/deployments/d/_start", {"wait_for": "starting", "timeout": "1m"}),
    ]
    refused = run(server, "deployments", "start", "d", "--again", "--threads", "2", "--priority", "low")
    assert refused.exit_code == 2 and "--threads, --priority cannot go with --again" in refused.stderr


def test_builds_create_uploads_parts_then_the_vocabulary(run: Callable[..., Any], tmp_path: Path) -> None:
    definition = tmp_path / "model.pt"
    definition.write_bytes(bytes(range(256)) * 10)  # 2560 bytes: three parts of 1024
    vocabulary = tmp_path / "vocabulary.json"
    vocabulary.write_text(json.dumps({"vocabulary": ["[PAD]", "[UNK]"]}))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"description": "x", "inference_config": {"pass_through": {}}}))
    build = {"model_id": "m", "build_number": 2, "state": "ready"}
    script: dict[tuple[str, str], Any] = {("PUT", "/_inferd/models/m/builds"): build,
                                          ("PUT", "/_inferd/models/m/builds/2/vocabulary"): {"acknowledged": True},
                                          ("GET", "/_inferd/models/m/builds/2"): build}
    script.update({("PUT", f"/_inferd/models/m/builds/2/definition/{part}"): {"acknowledged": True}
                   for part in range(3)})
    server = ScriptedServer(script)
    result = run(server, "builds", "create", "m", "--definition", str(definition), "--vocabulary", str(vocabulary),
                 "--inference-config", str(config), "--comment", "retrained", "--part-size", "1024", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == build
    assert server.requests[0][3] == {"comment": "retrained", "inference_config": {"pass_through": {}}}
    parts = [body for _, path, _, body in server.requests if "/definition/" in path]
    assert [(p["total_parts"], p["total_definition_length"]) for p in parts] == [(3, 2560)] * 3  # type: ignore[index]
    assert b"".join(base64.b64decode(p["definition"]) for p in parts) == definition.read_bytes()  # type: ignore[index]
    assert server.paths()[-2:] == ["PUT /_inferd/models/m/builds/2/vocabulary", "GET /_inferd/models/m/builds/2"]


def test_builds_create_refuses_a_file_that_is_no_vocabulary(run: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(b"x")
    (tmp_path / "vocabulary.json").write_text('["[PAD]"]')
    result = run(ScriptedServer({}), "builds", "create", "m", "--definition", str(tmp_path / "model.pt"),
                 "--vocabulary", str(tmp_path / "vocabulary.json"))
    assert result.exit_code == 2 and "holds no JSON object" in result.stderr
