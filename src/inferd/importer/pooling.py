"""Sentence-transformers pooling, dense and normalisation layers, rebuilt in plain torch for tracing.

A sentence-transformers model is a Hugging Face encoder followed by the modules listed in
`modules.json` (`1_Pooling`, optionally `2_Dense`, `2_Normalize`). eland runs them through the
sentence-transformers library; here they are read from their configs and rebuilt, so the `import`
extra does not need sentence-transformers and the traced graph holds only tensor operations.
Padding is on the right, as Elasticsearch's tokenizers produce it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from inferd.importer.errors import UnsupportedModel

# Legacy boolean keys, in the order sentence-transformers concatenates their outputs.
_LEGACY_MODES = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "Identity": nn.Identity,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "GELU": nn.GELU,
    "Sigmoid": nn.Sigmoid,
}


MODULES_FILE = "modules.json"
"""The file that makes a directory a sentence-transformers model."""


@dataclass(frozen=True)
class SentenceTransformerLayout:
    """Where the encoder lives and which layers follow it, read from `modules.json`."""

    transformer_dir: Path
    layers: tuple[nn.Module, ...]


def read_layout(model_dir: Path) -> SentenceTransformerLayout:
    """The model's post-encoder layers; a plain Hugging Face model gets mean pooling, as sentence-transformers does."""
    modules_file = model_dir / MODULES_FILE
    if not modules_file.is_file():
        return SentenceTransformerLayout(model_dir, (Pooling(("mean",)),))
    transformer_dir = model_dir
    layers: list[nn.Module] = []
    for module in sorted(json.loads(modules_file.read_text()), key=lambda entry: int(entry["idx"])):
        kind = str(module["type"]).rsplit(".", 1)[-1]
        path = model_dir / module.get("path", "")
        if kind == "Transformer":
            transformer_dir = path
        elif kind == "Pooling":
            layers.append(Pooling(_pooling_modes(_read_json(path / "config.json"))))
        elif kind == "Dense":
            layers.append(_read_dense(path))
        elif kind == "Normalize":
            layers.append(Normalize())
        else:
            raise UnsupportedModel(f"sentence-transformers module {module['type']} is not supported")
    if not layers or not isinstance(layers[0], Pooling):
        raise UnsupportedModel("A sentence-transformers model must pool token embeddings right after the encoder")
    return SentenceTransformerLayout(transformer_dir, tuple(layers))


class Pooling(nn.Module):
    """Token embeddings [batch, seq, hidden] to one vector per text, one block per mode, concatenated."""

    def __init__(self, modes: tuple[str, ...]) -> None:
        super().__init__()
        unknown = set(modes) - set(_LEGACY_MODES.values())
        if unknown or not modes:
            raise UnsupportedModel(f"Pooling modes {sorted(unknown) or '[]'} are not supported")
        self.modes = modes

    def forward(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        pooled: list[Tensor] = []
        for mode in self.modes:
            if mode == "cls":
                pooled.append(tokens[:, 0])
            elif mode == "max":
                pooled.append(tokens.masked_fill(mask == 0, float("-inf")).max(dim=1).values)
            elif mode == "mean":
                pooled.append((tokens * mask).sum(dim=1) / counts)
            elif mode == "mean_sqrt_len_tokens":
                pooled.append((tokens * mask).sum(dim=1) / counts.sqrt())
            elif mode == "weightedmean":
                weights = mask * torch.arange(1, tokens.shape[1] + 1, dtype=tokens.dtype).view(1, -1, 1)
                pooled.append((tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9))
            else:  # lasttoken: the last position the mask keeps
                last = (attention_mask.sum(dim=1) - 1).clamp(min=0)
                pooled.append(tokens[torch.arange(tokens.shape[0]), last])
        return torch.cat(pooled, dim=-1)


class Dense(nn.Module):
    def __init__(self, linear: nn.Linear, activation: nn.Module) -> None:
        super().__init__()
        self.linear = linear
        self.activation = activation

    def forward(self, embedding: Tensor, attention_mask: Tensor) -> Tensor:
        activated: Tensor = self.activation(self.linear(embedding))
        return activated


class Normalize(nn.Module):
    def forward(self, embedding: Tensor, attention_mask: Tensor) -> Tensor:
        return nn.functional.normalize(embedding, p=2.0, dim=-1)


def _pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    if "pooling_mode" in config:
        mode = config["pooling_mode"]
        return (mode,) if isinstance(mode, str) else tuple(mode)
    return tuple(mode for key, mode in _LEGACY_MODES.items() if config.get(key))


def _read_dense(path: Path) -> Dense:
    """A `Dense` module's linear layer from its config and weights (safetensors, else a weights-only torch file)."""
    config = _read_json(path / "config.json")
    activation_name = str(config.get("activation_function", "torch.nn.modules.linear.Identity")).rsplit(".", 1)[-1]
    if activation_name not in _ACTIVATIONS:
        raise UnsupportedModel(f"Dense activation {activation_name} is not supported")
    linear = nn.Linear(int(config["in_features"]), int(config["out_features"]), bias=bool(config.get("bias", True)))
    if (path / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(path / "model.safetensors"))
    elif (path / "pytorch_model.bin").is_file():
        state = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise UnsupportedModel(f"No weights for the Dense module in [{path}]")
    linear.load_state_dict({key.removeprefix("linear."): value for key, value in state.items()})
    return Dense(linear, _ACTIVATIONS[activation_name]())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UnsupportedModel(f"Cannot read [{path}]: {error}") from error
    return data
