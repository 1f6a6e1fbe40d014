"""Where a deployment's workers compute, and in what precision: the words of `inferd.device` and
`inferd.precision`, the GPUs a machine has, and the batch defaults a GPU gets.

Pure, and free of torch at import: the server (which never imports torch) parses and plans with it. A machine's
GPUs are read by a throwaway process (`python -m inferd.runtime.torch_device`), so that neither torch nor a CUDA
context ever lives in the server; where no GPU driver is installed that process is not even started.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

logger = logging.getLogger(__name__)


class DeviceKind(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"


class Precision(StrEnum):
    """What a forward pass computes in: the model's own float32, or autocast to a half precision."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"


CPU_PRECISIONS = (Precision.FLOAT32, Precision.BFLOAT16)
"""float16 autocast on a CPU is slower than float32 and less exact than bfloat16: refused there."""
DEVICE_PATTERN = r"^(cpu|cuda|cuda:[0-9]{1,2})$"
DEVICE_FORMS = "cpu, cuda, cuda:N"
GPU_MAX_BATCH_DOCUMENTS = 128
"""A GPU deployment's default batch limit (a CPU's is the server's `max_batch_documents`, 16): a GPU's forward pass
costs about the same for 1 row as for dozens, so it needs far fuller batches than a CPU, whose cost grows with
every row. 128 rows of a BERT-base model fill a data-centre GPU without crowding its memory; not yet measured here."""
GPU_MAX_BATCH_TOKENS = 32_768
"""The padded tokens one forward pass takes on a GPU (the server's `max_batch_tokens`, 384, bounds a CPU's, where
each concurrent allocation's activations compete for host memory): 128 rows of 256 tokens, or 64 of 512."""


@dataclass(frozen=True)
class DeviceRequest:
    """What a deployment asks for: the CPU, any CUDA device (`cuda`: the planner picks one per node), or one by
    index (`cuda:N`)."""

    kind: DeviceKind
    index: int | None = None

    @classmethod
    def parse(cls, text: str) -> DeviceRequest:
        """ValueError naming the accepted forms for anything else."""
        if not re.fullmatch(DEVICE_PATTERN, text):
            raise ValueError(f"[device] must be one of [{DEVICE_FORMS}]; got [{text}]")
        kind, _, index = text.partition(":")
        return cls(DeviceKind(kind), int(index) if index else None)

    @property
    def is_gpu(self) -> bool:
        return self.kind is not DeviceKind.CPU

    def __str__(self) -> str:
        return str(self.kind) if self.index is None else f"{self.kind}:{self.index}"


CPU = DeviceRequest(DeviceKind.CPU)


def cuda_device(index: int) -> str:
    """The device a route's worker runs on, as torch names it: `cuda:N`."""
    return str(DeviceRequest(DeviceKind.CUDA, index))


@dataclass(frozen=True)
class GpuDevice:
    """One CUDA device of a node: its index there, its name, and its memory."""

    index: int
    name: str
    memory_bytes: int

    @property
    def device(self) -> str:
        """As torch names it, and as a route runs on it."""
        return cuda_device(self.index)

    def describe(self) -> str:
        return f"{self.device} ({self.name}, {self.memory_bytes} bytes)"


def precision_problems(device: DeviceRequest, precision: Precision) -> list[str]:
    if not device.is_gpu and precision not in CPU_PRECISIONS:
        return [f"[precision] [{precision}] needs a cuda [device]; on [cpu] use one of "
                f"[{', '.join(CPU_PRECISIONS)}]"]
    return []


def batch_documents_default(device: DeviceRequest, server_default: int) -> int:
    return max(server_default, GPU_MAX_BATCH_DOCUMENTS) if device.is_gpu else server_default


def batch_tokens(device: DeviceRequest, server_limit: int) -> int:
    return max(server_limit, GPU_MAX_BATCH_TOKENS) if device.is_gpu else server_limit


PROBE_TIMEOUT_S = 120.0
DRIVER_MARKERS = (Path("/proc/driver/nvidia"), Path("/dev/nvidiactl"), Path("/dev/kfd"))
"""An NVIDIA driver, or ROCm's (which torch also speaks as `cuda`): without one no process can see a GPU."""


def probe_gpus(python: str = sys.executable, timeout_s: float = PROBE_TIMEOUT_S,
               markers: Sequence[Path] = DRIVER_MARKERS) -> list[GpuDevice]:
    """This machine's CUDA devices as torch sees them (CUDA_VISIBLE_DEVICES applies), read by a throwaway process;
    none where no GPU driver is installed, or when the probe fails (logged: the node then offers its CPU only)."""
    if not any(marker.exists() for marker in markers):
        return []
    try:
        done = subprocess.run([python, "-m", "inferd.runtime.torch_device"], capture_output=True, text=True,
                              timeout=timeout_s, check=True)
        return parse_probe(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        logger.warning("cannot read this machine's GPUs, offering its CPU only: %s", error)
        return []


def parse_probe(output: str) -> list[GpuDevice]:
    """The probe's JSON: a list of {index, name, memory_bytes}."""
    return [GpuDevice(int(entry["index"]), str(entry["name"]), int(entry["memory_bytes"]))
            for entry in json.loads(output)]
