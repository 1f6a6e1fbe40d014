"""The weights figure of a model's metadata (`per_deployment_memory_bytes`), float32 and quantized."""

from __future__ import annotations

from torch import nn

from inferd.importer.memory import per_deployment_memory_bytes
from inferd.importer.tracing import quantize_linear_layers

FLOAT32, INT8 = 4, 1


def test_float32_weights_are_four_bytes_each() -> None:
    model = nn.Sequential(nn.Embedding(10, 8), nn.Linear(8, 6))
    assert per_deployment_memory_bytes(model) == (10 * 8 + 8 * 6 + 6) * FLOAT32


def test_a_quantized_linear_layer_counts_its_packed_int8_weights_and_float32_bias() -> None:
    """Dynamic quantization packs a linear layer's weights into a TorchScript object, which `parameters()` misses."""
    quantized = quantize_linear_layers(nn.Sequential(nn.Embedding(10, 8), nn.Linear(8, 6)))
    assert not any(isinstance(module, nn.Linear) for module in quantized.modules())
    assert per_deployment_memory_bytes(quantized) == 10 * 8 * FLOAT32 + 8 * 6 * INT8 + 6 * FLOAT32
