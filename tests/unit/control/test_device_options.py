"""`inferd.device` and `inferd.precision` in `_start` and `_redeploy`: read, checked in Elasticsearch's error shapes,
stored with the settings (a store from before them reads as the CPU in float32), and part of the workers' resources."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from inferd.control.deployment_request import parse_start_request
from inferd.control.deployment_settings import DeploymentSettings
from inferd.control.rollout_request import parse_rollout_request, settings_after
from inferd.errors import InferdError, ParseError, ValidationFailed
from inferd.runtime.device import CPU, DeviceRequest, Precision


def start(inferd: Any) -> Any:
    return parse_start_request("m", {}, {"inferd": inferd})


def test_start_defaults_to_the_cpu_in_float32() -> None:
    request = parse_start_request("m", {}, None)
    assert (request.device, request.precision) == (CPU, Precision.FLOAT32)
    request = start({"device": "cuda:1", "precision": "float16", "max_batch_documents": 64})
    assert (request.device, request.precision, request.max_batch_documents) == (
        DeviceRequest.parse("cuda:1"), Precision.FLOAT16, 64)
    assert start({"device": "cpu", "precision": "bfloat16"}).precision is Precision.BFLOAT16


@pytest.mark.parametrize(("inferd", "error", "message"), [
    ({"device": "gpu"}, ValidationFailed, "Validation Failed: 1: [device] must be one of [cpu, cuda, cuda:N]; got [gpu];"),
    ({"device": 0}, ValidationFailed, "[device] must be one of [cpu, cuda, cuda:N]; got [0]"),
    ({"precision": "half"}, ValidationFailed,
     "[precision] must be one of [float32, float16, bfloat16]; got [half]"),
    ({"precision": "float16"}, ValidationFailed,
     "[precision] [float16] needs a cuda [device]; on [cpu] use one of [float32, bfloat16]"),
    ({"device": "tpu", "precision": "fp8", "max_batch_documents": 0}, ValidationFailed,
     "Validation Failed: 1: [max_batch_documents] must be between 1 and 1024;2: [device] must be one of [cpu, cuda, "
     "cuda:N]; got [tpu];3: [precision] must be one of [float32, float16, bfloat16]; got [fp8];"),
    ({"dtype": "float16"}, ParseError, "[inferd] accepts only [max_batch_documents, device, precision]"),
])
def test_bad_device_options_are_refused_in_elasticsearch_s_shape(inferd: dict[str, Any], error: type[InferdError],
                                                                 message: str) -> None:
    with pytest.raises(error) as raised:
        start(inferd)
    assert message in str(raised.value)
    assert raised.value.status == 400


def test_a_redeploy_changes_only_what_it_names() -> None:
    assert parse_rollout_request("redeploy", {}, {"inferd": {"device": "cuda"}}).changes == {
        "device": DeviceRequest.parse("cuda")}
    assert parse_rollout_request("redeploy", {}, {"inferd": {"precision": "float16"}}).changes == {
        "precision": Precision.FLOAT16}
    assert parse_rollout_request("redeploy", {}, {"threads_per_allocation": 2}).changes == {"threads_per_allocation": 2}
    with pytest.raises(ValidationFailed, match="must be one of"):
        parse_rollout_request("redeploy", {}, {"inferd": {"device": "cuda:x"}})


CURRENT = {"number_of_allocations": 1, "threads_per_allocation": 1, "queue_capacity": 1024, "cache_size": None,
           "priority": "normal", "max_batch_documents": 16, "adaptive_allocations": None}


def test_a_redeploy_s_precision_is_checked_against_the_device_it_ends_on() -> None:
    on_gpu = settings_after({**CURRENT, "device": "cuda:0"}, {"precision": Precision.FLOAT16})
    assert (on_gpu["device"], on_gpu["precision"]) == ("cuda:0", "float16")
    with pytest.raises(ValidationFailed, match=r"\[precision\] \[float16\] needs a cuda \[device\]"):
        settings_after(CURRENT, {"precision": Precision.FLOAT16})  # a store from before devices: the CPU
    with pytest.raises(ValidationFailed, match="needs a cuda"):  # back to the CPU while in float16
        settings_after({**CURRENT, "device": "cuda", "precision": "float16"}, {"device": CPU})
    moved = settings_after({**CURRENT, "device": "cuda", "precision": "float16"},
                           {"device": CPU, "precision": Precision.BFLOAT16})
    assert (moved["device"], moved["precision"]) == ("cpu", "bfloat16")


def test_settings_store_the_device_and_a_change_of_it_needs_new_workers() -> None:
    before = DeploymentSettings.from_stored(CURRENT, 16)
    assert (before.device, before.precision) == (CPU, Precision.FLOAT32)  # stored before devices existed
    on_gpu = DeploymentSettings.from_stored({**CURRENT, "device": "cuda:1", "precision": "bfloat16"}, 16)
    assert on_gpu.stored()["device"] == "cuda:1" and on_gpu.stored()["precision"] == "bfloat16"
    assert DeploymentSettings.from_stored(on_gpu.stored(), 16) == on_gpu
    assert not before.same_workers(on_gpu)
    assert not before.same_workers(DeploymentSettings.from_stored({**CURRENT, "precision": "bfloat16"}, 16))
    resources = on_gpu.resources(1000)
    assert (resources.device, resources.precision) == (DeviceRequest.parse("cuda:1"), Precision.BFLOAT16)
    assert DeploymentSettings.of(1, None, resources) == dataclasses.replace(on_gpu, cache_size="1000b")


def test_a_gpu_deployment_without_a_batch_limit_gets_the_gpu_s_default() -> None:
    unset = {key: value for key, value in CURRENT.items() if key != "max_batch_documents"}
    assert DeploymentSettings.from_stored({**unset, "device": "cuda"}, 16).max_batch_documents == 128
    assert DeploymentSettings.from_stored(unset, 16).max_batch_documents == 16
    assert DeploymentSettings.from_stored({**CURRENT, "device": "cuda"}, 16).max_batch_documents == 16  # given: kept
