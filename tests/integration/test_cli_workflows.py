"""`inferd builds ...` and `inferd deployments ...` as a person or a script runs them, against the real server.

Each command runs as a subprocess (`python -m inferd`, this checkout's code), as `inferd import` is tested:
what is checked is the exit code, stdout (the server's JSON with `-o json`) and the reason on stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from elasticsearch import Elasticsearch
from torch import Tensor, nn

from tests.support.api import eventually
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess


def inferd(server: ServerProcess, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    """`inferd ARGS --url URL --data-dir DIR`: the local admin key, found as the README's commands find it."""
    command = [sys.executable, "-m", "inferd", *args, "--url", server.url, "--data-dir", str(server.data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    """stdout of a `-o json` command: the server's JSON and nothing else."""
    return json.loads(ok(result).stdout)


@pytest.fixture
def echo_deployed(es: Elasticsearch, server: ServerProcess, model_id: str, echo_model: TestModel) -> Iterator[str]:
    """The echo model uploaded as `model_id`; whatever the test deploys is stopped and the model deleted after."""
    upload_test_model(es, model_id, echo_model, chunk_size=64 * 1024)
    yield model_id
    es.options(ignore_status=404).ml.stop_trained_model_deployment(model_id=model_id, force=True)
    es.options(ignore_status=404).ml.delete_trained_model(model_id=model_id, force=True)


def test_start_then_update_through_elasticsearchs_api(es: Elasticsearch, server: ServerProcess,
                                                      echo_deployed: str) -> None:
    started = as_json(inferd(server, "deployments", "start", echo_deployed, "--allocations", "1", "--threads", "1",
                             "--queue-capacity", "64", "-o", "json"))
    assignment = started["assignment"]
    assert assignment["assignment_state"] == "started"
    assert assignment["task_parameters"]["queue_capacity"] == 64

    resized = ok(inferd(server, "deployments", "update", echo_deployed, "--allocations", "2"))
    assert f"deployment {echo_deployed} of model {echo_deployed}: started, 2 of 2 allocations" in resized.stdout
    stats = es.ml.get_trained_models_stats(model_id=echo_deployed)["trained_model_stats"][0]["deployment_stats"]
    assert stats["number_of_allocations"] == 2

    adaptive = as_json(inferd(server, "deployments", "update", echo_deployed, "--adaptive", "--min", "1", "--max", "3",
                              "-o", "json"))
    assert adaptive["assignment"]["adaptive_allocations"]["max_number_of_allocations"] == 3


def test_refusals_exit_1_with_the_servers_reason_and_misuse_exits_2(server: ServerProcess, echo_deployed: str) -> None:
    missing = inferd(server, "deployments", "start", "no-such-model")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "the server answered 404" in missing.stderr and "no-such-model" in missing.stderr

    stranger = subprocess.run([sys.executable, "-m", "inferd", "deployments", "start", echo_deployed, "--url",
                               server.url, "--api-key", "bm90OmEta2V5"], capture_output=True, text=True, timeout=60)
    assert stranger.returncode == 1 and "the server answered 401" in stranger.stderr

    again = inferd(server, "deployments", "start", echo_deployed, "--again", "--allocations", "2")
    assert again.returncode == 2 and "--allocations cannot go with --again" in again.stderr
    assert inferd(server, "deployments", "update", echo_deployed).returncode == 2
    assert inferd(server, "deployments", "update", echo_deployed, "--min", "1").returncode == 2
    assert inferd(server, "deployments", "start", echo_deployed, "--no-wait", "--wait-for", "started").returncode == 2


def model_files(model: TestModel, directory: Path) -> tuple[str, str]:
    """The definition and a vocabulary file, the way `builds create` takes them."""
    vocabulary = directory / "vocabulary.json"
    vocabulary.write_text(json.dumps(model.vocabulary))
    return str(model.definition_path), str(vocabulary)


def test_builds_create_list_and_show(server: ServerProcess, echo_deployed: str, echo_model: TestModel,
                                     tmp_path: Path) -> None:
    definition, vocabulary = model_files(echo_model, tmp_path)
    created = inferd(server, "builds", "create", echo_deployed, "--definition", definition, "--vocabulary",
                     vocabulary, "--comment", "second", "--part-size", str(64 * 1024), "-o", "json")
    build = as_json(created)
    assert (build["build_number"], build["state"], build["comment"], build["has_vocabulary"]) == (2, "ready",
                                                                                                  "second", True)
    assert build["total_parts"] == -(-echo_model.size_bytes // (64 * 1024)) > 1
    assert f"in {build['total_parts']} parts" in created.stderr

    listed = as_json(inferd(server, "builds", "list", echo_deployed, "-o", "json"))
    assert [b["build_number"] for b in listed["builds"]] == [2, 1]
    table = ok(inferd(server, "builds", "list", echo_deployed)).stdout
    assert "second" in table and "ready" in table
    assert "sha256" in ok(inferd(server, "builds", "show", echo_deployed, "2")).stdout

    missing = inferd(server, "builds", "show", echo_deployed, "9")
    assert missing.returncode == 1 and "the server answered 404" in missing.stderr
    config = tmp_path / "ner.json"
    config.write_text(json.dumps({"ner": {}}))
    other_task = inferd(server, "builds", "create", echo_deployed, "--definition", definition, "--vocabulary",
                        vocabulary, "--inference-config", str(config))
    assert other_task.returncode == 1 and "the server answered 400" in other_task.stderr


class BrokenModel(nn.Module):
    """Loads, and fails every inference: a build whose rollout fails at its verifying inference."""

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
                ) -> Tensor:
        raise RuntimeError("this build cannot infer")


def broken_definition(directory: Path) -> str:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        path = directory / "broken.pt"
        torch.jit.save(torch.jit.script(BrokenModel().eval()), str(path))
    return str(path)


def infers(es: Elasticsearch, deployment_id: str) -> bool:
    answer = es.ml.infer_trained_model(model_id=deployment_id, docs=[{"text_field": "hello world"}])
    return bool(answer["inference_results"][0]["predicted_value"])


def test_a_new_build_rolls_out_back_restarts_stops_and_starts_again(
    es: Elasticsearch, server: ServerProcess, echo_deployed: str, echo_model: TestModel, tmp_path: Path
) -> None:
    model = echo_deployed
    ok(inferd(server, "deployments", "start", model))
    definition, vocabulary = model_files(echo_model, tmp_path)
    assert as_json(inferd(server, "builds", "create", model, "--definition", definition, "--vocabulary", vocabulary,
                          "-o", "json"))["build_number"] == 2

    redeployed = inferd(server, "deployments", "redeploy", model, "--build", "2", "-o", "json")
    answer = as_json(redeployed)
    assert answer["deployment"]["build_number"] == 2 and answer["rollout"]["outcome"] == "succeeded"
    assert f"redeploy of {model} done" in redeployed.stderr and "→" in redeployed.stderr  # the live line
    assert infers(es, model)

    rolled_back = ok(inferd(server, "deployments", "rollback", model))
    assert "rollback of" in rolled_back.stderr and "deployed" in rolled_back.stdout
    assert as_json(inferd(server, "deployments", "show", model, "-o", "json"))["build_number"] == 1
    ok(inferd(server, "deployments", "restart", model))
    assert infers(es, model)

    assert as_json(inferd(server, "deployments", "stop", model, "-o", "json"))["lifecycle"] == "stopped"
    listed = as_json(inferd(server, "deployments", "list", "-o", "json"))["deployments"]
    assert [view["lifecycle"] for view in listed if view["deployment_id"] == model] == ["stopped"]
    again = as_json(inferd(server, "deployments", "start", model, "--again", "-o", "json"))
    assert (again["lifecycle"], again["build_number"]) == ("deployed", 1)
    assert infers(es, model)

    history = as_json(inferd(server, "deployments", "history", model, "-o", "json"))["history"]
    assert [entry["action"] for entry in history] == ["start_again", "stop", "restart", "rollback", "redeploy",
                                                      "start"]
    assert all(entry["outcome"] == "succeeded" for entry in history)
    table = ok(inferd(server, "deployments", "history", model)).stdout
    assert "1 → 2" in table and "2 → 1" in table
    assert model in ok(inferd(server, "deployments", "list")).stdout


def test_a_failing_rollout_exits_1_and_the_old_build_keeps_serving(
    es: Elasticsearch, server: ServerProcess, echo_deployed: str, echo_model: TestModel, tmp_path: Path
) -> None:
    model = echo_deployed
    ok(inferd(server, "deployments", "start", model))
    _, vocabulary = model_files(echo_model, tmp_path)
    ok(inferd(server, "builds", "create", model, "--definition", broken_definition(tmp_path), "--vocabulary",
              vocabulary))

    failed = inferd(server, "deployments", "redeploy", model, "--build", "2", "-o", "json")
    assert failed.returncode == 1, failed.stderr
    assert f"redeploy of {model} failed" in failed.stderr and "cannot infer" in failed.stderr
    answer = json.loads(failed.stdout)
    assert answer["rollout"]["outcome"] == "failed" and answer["deployment"]["build_number"] == 1
    assert infers(es, model)

    timed_out = inferd(server, "deployments", "restart", model, "--timeout", "0s")
    assert timed_out.returncode == 3 and "goes on in the server" in timed_out.stderr, timed_out.stderr

    def restarted() -> bool:
        rollout = as_json(inferd(server, "deployments", "show", model, "-o", "json"))["rollout"]
        return rollout is None or rollout["outcome"] != "in_progress"

    eventually(restarted, timeout_s=120, what="the restart that --timeout left running to end", period_s=0.5)
