"""`inferd builds`: the files it reads into request bodies, and how a build reads in a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from inferd.cli.builds import create_body, deployments_text, parts_text, read_inference_config, state_text


def test_an_inference_config_alone_or_inside_a_whole_model_config(tmp_path: Path) -> None:
    inner = {"text_classification": {"classification_labels": ["a", "b"]}}
    alone, whole, two = tmp_path / "alone.json", tmp_path / "whole.json", tmp_path / "two.json"
    alone.write_text(json.dumps(inner))
    whole.write_text(json.dumps({"description": "traced", "inference_config": inner}))
    two.write_text(json.dumps({"ner": {}, "fill_mask": {}}))
    assert read_inference_config(alone) == inner == read_inference_config(whole)
    with pytest.raises(typer.BadParameter, match="one task type"):
        read_inference_config(two)


def test_the_create_body_holds_what_was_given() -> None:
    assert create_body(None, None) is None
    assert create_body("retrained", None) == {"comment": "retrained"}


def test_a_build_in_table_cells() -> None:
    uploading = {"state": "uploading", "stored_parts": 1, "total_parts": 3, "total_definition_length": 3 * 2**20}
    assert parts_text(uploading) == "1/3 (3mb)"
    assert parts_text({"state": "uploading"}) == "0/?"
    assert state_text({"state": "failed", "failure_reason": "not TorchScript"}) == "failed: not TorchScript"
    assert deployments_text({"deployments": [{"deployment_id": "d", "state": "started"}]}) == "d (started)"
    assert deployments_text({"deployments": []}) == "-"
