"""Devices on a machine without a GPU: the words parse, cuda is refused with a clear reason, the CPU's forward
pass is the module itself, bfloat16 autocast runs on the CPU, and no GPU is found."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from inferd.runtime.device import (
    CPU,
    DeviceKind,
    DeviceRequest,
    GpuDevice,
    Precision,
    batch_documents_default,
    batch_tokens,
    parse_probe,
    precision_problems,
    probe_gpus,
)
from inferd.runtime.torch_device import DeviceUnavailable, Placement, torch_device

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a CUDA device")


def test_device_words_parse_and_print_back() -> None:
    assert DeviceRequest.parse("cpu") == CPU and not CPU.is_gpu
    assert DeviceRequest.parse("cuda") == DeviceRequest(DeviceKind.CUDA) and str(DeviceRequest.parse("cuda")) == "cuda"
    assert DeviceRequest.parse("cuda:3") == DeviceRequest(DeviceKind.CUDA, 3) and str(DeviceRequest(DeviceKind.CUDA, 3)) == "cuda:3"
    for bad in ("gpu", "CUDA", "cuda:", "cuda:-1", "cuda:123", "auto", "mps", " cpu"):
        with pytest.raises(ValueError, match=r"must be one of \[cpu, cuda, cuda:N\]"):
            DeviceRequest.parse(bad)


def test_float16_is_refused_on_the_cpu_and_bfloat16_allowed() -> None:
    assert precision_problems(CPU, Precision.FLOAT32) == [] and precision_problems(CPU, Precision.BFLOAT16) == []
    assert precision_problems(CPU, Precision.FLOAT16) == [
        "[precision] [float16] needs a cuda [device]; on [cpu] use one of [float32, bfloat16]"]
    assert precision_problems(DeviceRequest.parse("cuda:0"), Precision.FLOAT16) == []


def test_a_gpu_gets_larger_batches_by_default_a_cpu_the_server_s() -> None:
    cuda = DeviceRequest.parse("cuda")
    assert batch_documents_default(CPU, 16) == 16 and batch_documents_default(cuda, 16) == 128
    assert batch_documents_default(cuda, 512) == 512  # never below the server's own default
    assert batch_tokens(CPU, 384) == 384 and batch_tokens(cuda, 384) == 32_768


def test_cuda_is_refused_with_the_reason_on_a_machine_without_one() -> None:
    assert torch_device("cpu") == torch.device("cpu")
    for device in ("cuda", "cuda:0", "cuda:1"):
        with pytest.raises(DeviceUnavailable, match=rf"cannot run on \[{device}\]: this machine has no CUDA device"):
            torch_device(device)
    with pytest.raises(DeviceUnavailable):
        Placement.of("cuda:0", "float16")


def test_no_gpu_is_found_here_and_the_probe_process_agrees(tmp_path: Path) -> None:
    assert probe_gpus() == []  # no driver: not even a process is started
    printed = subprocess.run([sys.executable, "-m", "inferd.runtime.torch_device"], capture_output=True, text=True,
                             check=True).stdout
    assert parse_probe(printed) == []
    # With a driver marker present the probe process runs, and finds none either.
    assert probe_gpus(markers=[tmp_path]) == []
    # A probe that fails leaves the node with its CPU only.
    assert probe_gpus(python=str(tmp_path / "no-python"), markers=[tmp_path]) == []


def test_the_probe_s_output_is_read() -> None:
    printed = '[{"index": 0, "name": "NVIDIA H100", "memory_bytes": 85899345920}, {"index": 1, "name": "B", "memory_bytes": 1}]'
    assert parse_probe(printed) == [GpuDevice(0, "NVIDIA H100", 85899345920), GpuDevice(1, "B", 1)]
    assert GpuDevice(1, "B", 1).device == "cuda:1"


class Scores(nn.Module):
    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        hidden = torch.nn.functional.linear(input_ids.to(torch.float32).unsqueeze(-1), torch.full((8, 1), 0.1))
        return hidden * attention_mask.unsqueeze(-1), hidden


def scripted() -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return torch.jit.script(Scores().eval())


def test_the_cpu_in_float32_runs_the_module_itself() -> None:
    module = scripted()
    assert Placement.of("cpu", "float32").forward(module) is module


def test_bfloat16_autocast_runs_on_the_cpu_close_to_float32() -> None:
    module = scripted()
    forward = Placement.of("cpu", "bfloat16").forward(module)
    assert forward is not module
    ids, mask = torch.tensor([[101, 2000, 3000, 102]]), torch.ones(1, 4, dtype=torch.long)
    with torch.inference_mode():
        exact, _ = module(ids, mask)
        autocast, hidden = forward(ids, mask)
    assert hidden.dtype == torch.bfloat16 and hidden.device.type == "cpu"  # the linear ran in bfloat16 (TorchScript)
    assert not torch.equal(autocast.to(torch.float32), exact)  # ... so its rounding shows
    torch.testing.assert_close(autocast.to(torch.float32), exact, rtol=1e-2, atol=1.0)
