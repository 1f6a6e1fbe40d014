"""Models for tests of builds and rollouts: each build's answers say which build gave them, or it cannot run.

    marked_echo_model(directory, marker)  the echo model with its attention column set to `marker`
    broken_model(directory)               loads (it is valid TorchScript) but every forward pass raises
    upload_build(http, model_id, model)   create the model's next build through inferd's API and fill it
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import torch
from torch import Tensor, nn

from tests.support.models import TestModel, build_scripted_model


class MarkedEchoModel(nn.Module):
    """The echo model's output with the attention mask times `marker`: the token ids check the answer, the
    second column names the build."""

    def __init__(self, marker: float) -> None:
        super().__init__()
        self.register_buffer("marker", torch.tensor(marker))

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
    ) -> Tensor:
        marked = attention_mask.to(torch.float32) * self.marker
        return torch.stack([input_ids.to(torch.float32), marked, token_type_ids.to(torch.float32),
                            position_ids.to(torch.float32)], dim=-1)


class BrokenModel(nn.Module):
    """A build whose definition loads but whose forward pass always fails, as a bad export would."""

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
    ) -> Tensor:
        if input_ids.numel() > 0:
            raise RuntimeError("this build cannot run a forward pass")
        return torch.stack([input_ids, attention_mask, token_type_ids, position_ids], dim=-1).to(torch.float32)


def marked_echo_model(directory: Path, marker: int) -> TestModel:
    return _scripted(MarkedEchoModel(float(marker)), directory / f"marked-{marker}", f"Echo marked {marker}")


def broken_model(directory: Path) -> TestModel:
    return _scripted(BrokenModel(), directory / "broken", "Loads, cannot run")


def _scripted(module: nn.Module, directory: Path, description: str) -> TestModel:
    traced = build_scripted_model(module, directory, description, 0)
    return TestModel("pass_through", traced.definition_path, traced.config, traced.vocabulary, traced.size_bytes)


def marker_of(result: dict[str, object]) -> int:
    """Which build answered: the marker in the first token's second column."""
    rows = result["predicted_value"]
    assert isinstance(rows, list)
    return int(rows[0][1])


def upload_build(http: httpx.Client, model_id: str, model: TestModel, *, part_bytes: int = 64 * 1024,
                 inference_config: dict[str, object] | None = None) -> int:
    """Create the model's next build (inferd's API) and upload its definition in parts and its vocabulary."""
    body: dict[str, object] = {"comment": f"test build of {model.definition_path.name}"}
    if inference_config is not None:
        body["inference_config"] = inference_config
    created = http.put(f"/_inferd/models/{model_id}/builds", json=body)
    assert created.status_code == 200, created.text
    build = int(created.json()["build_number"])
    data = model.definition_path.read_bytes()
    parts = [data[start:start + part_bytes] for start in range(0, len(data), part_bytes)]
    for index, part in enumerate(parts):
        response = http.put(f"/_inferd/models/{model_id}/builds/{build}/definition/{index}", json={
            "definition": base64.b64encode(part).decode(), "total_definition_length": len(data),
            "total_parts": len(parts)})
        assert response.status_code == 200, response.text
    response = http.put(f"/_inferd/models/{model_id}/builds/{build}/vocabulary", json=model.vocabulary)
    assert response.status_code == 200, response.text
    return build
