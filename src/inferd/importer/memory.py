"""The memory figures eland puts in a model's metadata, which the planner adds up per node.

`per_deployment_memory_bytes` is what one copy of the weights takes (parameters and buffers, and the int8 weights of
dynamically quantized linear layers, which are neither);
`per_allocation_memory_bytes` is what one forward pass at the longest input allocates, measured with
the torch profiler as eland does (batch of one), but under `no_grad` because inference runs so.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torch.ao.nn.quantized.modules.linear import LinearPackedParams
from torch.profiler import ProfilerActivity, profile


def per_deployment_memory_bytes(model: nn.Module) -> int:
    """Bytes of the weights and buffers: one copy, shared by every allocation of a deployment."""
    tensors = [*model.parameters(), *model.buffers(), *_packed_weights(model)]
    return sum(tensor.nelement() * tensor.element_size() for tensor in tensors)


def _packed_weights(model: nn.Module) -> Iterator[Tensor]:
    """The weights and biases a quantized linear layer keeps packed in a TorchScript object, out of sight of
    `parameters()`: left out, a quantized model's figure would drop its linear layers altogether."""
    for module in model.modules():
        if isinstance(module, LinearPackedParams):
            weight, bias = module._weight_bias()
            yield weight
            if bias is not None:
                yield bias


def per_allocation_memory_bytes(
    model: nn.Module, *, input_count: int, sequence_length: int, vocabulary_size: int
) -> int:
    """Bytes one inference of `sequence_length` tokens allocates, as the CPU profiler counts them."""
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(0, max(vocabulary_size, 1), (1, sequence_length), generator=generator)
    inputs = [input_ids, torch.ones_like(input_ids)]
    if input_count == 4:
        inputs += [torch.zeros_like(input_ids), torch.arange(sequence_length).unsqueeze(0)]
    with _native_stderr_silenced(), torch.no_grad():
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            model(*inputs)
    return max(int(prof.key_averages().total_average().cpu_memory_usage), 0)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """The profiler's C++ side prints start/stop lines straight to fd 2; hide them for its duration only."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): let the lines through
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
