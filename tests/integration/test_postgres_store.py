"""The same server on PostgreSQL: a store URL is all it takes, and everything survives a restart."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.models import TestModel
from tests.support.postgres import postgres_binaries, running_postgres
from tests.support.server import ServerProcess, client_for

pytestmark = pytest.mark.skipif(postgres_binaries() is None, reason="no PostgreSQL server binaries on this machine")


def test_models_on_postgresql(tmp_path: Path, echo_model: TestModel) -> None:
    with running_postgres() as url:
        server = ServerProcess(tmp_path / "data", extra_env={"INFERD_STORE_URL": url}).start()
        try:
            es = client_for(server.url)
            es.ml.put_trained_model(model_id="on-pg", body=echo_model.config)
            data = echo_model.definition_path.read_bytes()
            half = len(data) // 2
            for index, chunk in enumerate((data[:half], data[half:])):
                es.ml.put_trained_model_definition_part(
                    model_id="on-pg", part=index, definition=base64.b64encode(chunk).decode(),
                    total_definition_length=len(data), total_parts=2,
                )
            es.ml.put_trained_model_vocabulary(model_id="on-pg", body=echo_model.vocabulary)
            es.ml.put_trained_model_alias(model_id="on-pg", model_alias="pg-alias")
            server.restart()
            es = client_for(server.url)
            config = es.ml.get_trained_models(model_id="pg-alias", include="definition_status")
            assert config["trained_model_configs"][0]["fully_defined"] is True
            assert not (tmp_path / "data" / "inferd.db").exists()
        finally:
            server.stop()
