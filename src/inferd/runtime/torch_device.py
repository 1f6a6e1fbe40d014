"""The worker's side of devices: the torch device a `LoadModel` names, and a forward pass run there.

On the CPU in float32 the model itself is the forward pass (`Placement.forward` returns the module unchanged), so
a CPU deployment's hot path costs exactly what it did. Elsewhere a thin callable moves the inputs to the device,
runs the module under autocast when a half precision is asked for, and brings the outputs back to the CPU, where
the task's post-processing reads them.

`python -m inferd.runtime.torch_device` prints this machine's CUDA devices as JSON (`device.probe_gpus` reads it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from inferd.runtime.device import DeviceKind, DeviceRequest, GpuDevice, Precision

_DTYPES = {Precision.FLOAT16: torch.float16, Precision.BFLOAT16: torch.bfloat16}


class DeviceUnavailable(RuntimeError):
    """The worker's machine cannot run on the device it was asked for."""


def cuda_devices() -> list[GpuDevice]:
    if not torch.cuda.is_available():
        return []
    return [GpuDevice(index, torch.cuda.get_device_name(index), torch.cuda.get_device_properties(index).total_memory)
            for index in range(torch.cuda.device_count())]


def torch_device(device: str) -> torch.device:
    """The torch device a worker was told to run on; DeviceUnavailable saying why it cannot."""
    request = DeviceRequest.parse(device)
    if not request.is_gpu:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceUnavailable(f"cannot run on [{device}]: this machine has no CUDA device "
                                f"(torch {torch.__version__}, CUDA {torch.version.cuda or 'not built in'})")
    index = request.index or 0
    if index >= torch.cuda.device_count():
        raise DeviceUnavailable(f"cannot run on [{device}]: this machine has {torch.cuda.device_count()} CUDA "
                                f"devices")
    return torch.device(DeviceKind.CUDA, index)


@dataclass(frozen=True)
class Placement:
    """Where a worker's model lives and what its forward passes compute in."""

    device: torch.device
    precision: Precision

    @classmethod
    def of(cls, device: str, precision: str) -> Placement:
        return cls(torch_device(device), Precision(precision))

    @property
    def map_location(self) -> torch.device:
        """Where `torch.jit.load` puts the weights: straight onto the device, never a host copy first."""
        return self.device

    def forward(self, module: Callable[..., Any]) -> Callable[..., Any]:
        """The module's forward pass on this device: the module itself on the CPU in float32."""
        if self.device.type == "cpu" and self.precision is Precision.FLOAT32:
            return module
        return _OnDevice(module, self.device, _DTYPES.get(self.precision))


class _OnDevice:
    def __init__(self, module: Callable[..., Any], device: torch.device, autocast: torch.dtype | None) -> None:
        self._module = module
        self._device = device
        self._autocast = autocast

    def __call__(self, *inputs: torch.Tensor) -> Any:
        moved = [tensor.to(self._device, non_blocking=True) for tensor in inputs]
        if self._autocast is None:
            return _to_cpu(self._module(*moved))
        with torch.autocast(self._device.type, dtype=self._autocast):
            return _to_cpu(self._module(*moved))


def _to_cpu(output: Any) -> Any:
    """The outputs back on the CPU (tensors in tuples and lists too), for the task's post-processing."""
    if isinstance(output, torch.Tensor):
        return output.cpu()
    if isinstance(output, (tuple, list)):
        return type(output)(_to_cpu(item) for item in output)
    return output


def main() -> None:
    print(json.dumps([{"index": gpu.index, "name": gpu.name, "memory_bytes": gpu.memory_bytes}
                      for gpu in cuda_devices()]))


if __name__ == "__main__":
    main()
