"""Uploaded bytes are never unpickled: a pickle whose `__reduce__` runs code is refused, and the code never runs."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest
import torch
from elasticsearch import BadRequestError, Elasticsearch

from tests.support.models import TestModel


class WritesSentinel:
    """Unpickling this calls `open(path, "w")`: if the file appears, someone unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.path), "w"))


def upload_in_two_parts(es: Elasticsearch, model_id: str, data: bytes, config: dict) -> None:
    es.ml.put_trained_model(model_id=model_id, body=config)
    half = len(data) // 2
    for index, chunk in enumerate((data[:half], data[half:])):
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=index, definition=base64.b64encode(chunk).decode(),
            total_definition_length=len(data), total_parts=2,
        )


@pytest.mark.parametrize("container", ["pickle", "torch.save"])
def test_a_malicious_pickle_is_refused_and_never_runs(
    es: Elasticsearch, model_id: str, echo_model: TestModel, tmp_path: Path, container: str
) -> None:
    sentinel = tmp_path / "pwned"
    payload = WritesSentinel(sentinel)
    if container == "pickle":
        data = pickle.dumps(payload)
    else:
        torch.save({"weights": payload}, tmp_path / "evil.pt")
        data = (tmp_path / "evil.pt").read_bytes()
    with pytest.raises(BadRequestError) as refused:
        upload_in_two_parts(es, model_id, data, echo_model.config)
    reason = refused.value.body["error"]["reason"]
    assert refused.value.meta.status == 400
    assert f"The definition of model [{model_id}] was refused" in reason and "torch.jit.save" in reason
    config = es.ml.get_trained_models(model_id=model_id, include="definition_status")["trained_model_configs"][0]
    assert config["fully_defined"] is False
    assert not sentinel.exists()
    assert es.ping()


def test_a_zip_that_only_looks_like_torchscript_fails_to_load(
    es: Elasticsearch, model_id: str, echo_model: TestModel, tmp_path: Path
) -> None:
    """Passes the archive check (code/ and constants.pkl present) but torch.jit.load, in the child, refuses it."""
    import zipfile

    path = tmp_path / "fake.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("fake/code/__torch__.py", "def forward(self): pass\n")
        archive.writestr("fake/constants.pkl", pickle.dumps(WritesSentinel(tmp_path / "pwned")))
        archive.writestr("fake/data.pkl", b"not a pickle")
    with pytest.raises(BadRequestError) as refused:
        upload_in_two_parts(es, model_id, path.read_bytes(), echo_model.config)
    assert "torch.jit.load failed" in refused.value.body["error"]["reason"]
    assert not (tmp_path / "pwned").exists()


def test_a_damaged_zip_is_refused_not_a_server_error(es: Elasticsearch, model_id: str, echo_model: TestModel) -> None:
    end_of_central_directory_only = b"PK\x05\x06" + b"\x00" * 6 + b"\x01\x00" + b"\xff" * 8 + b"\x00\x00"
    with pytest.raises(BadRequestError) as refused:
        upload_in_two_parts(es, model_id, end_of_central_directory_only, echo_model.config)
    assert "damaged zip file" in refused.value.body["error"]["reason"]
