"""Uploading models the eland way and the Elasticsearch way, over the real client and server."""

from __future__ import annotations

import base64
import hashlib

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from tests.support.api import error
from tests.support.models import TestModel
from tests.support.server import ServerProcess, client_for

CHUNK = 64 * 1024


def parts_of(model: TestModel, chunk: int = CHUNK) -> list[bytes]:
    data = model.definition_path.read_bytes()
    return [data[i : i + chunk] for i in range(0, len(data), chunk)]


def put_part(es: Elasticsearch, model_id: str, model: TestModel, index: int, data: bytes, total_parts: int) -> None:
    es.ml.put_trained_model_definition_part(
        model_id=model_id,
        part=index,
        definition=base64.b64encode(data).decode(),
        total_definition_length=model.size_bytes,
        total_parts=total_parts,
    )


def definition_status(es: Elasticsearch, model_id: str) -> dict:
    return es.ml.get_trained_models(model_id=model_id, include="definition_status")["trained_model_configs"][0]


def test_eland_order_config_parts_vocabulary(es: Elasticsearch, model_id: str, echo_model: TestModel) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    parts = parts_of(echo_model)
    assert len(parts) >= 5
    for index, data in enumerate(parts):
        assert definition_status(es, model_id)["fully_defined"] is False
        put_part(es, model_id, echo_model, index, data, len(parts))
    es.ml.put_trained_model_vocabulary(model_id=model_id, body=echo_model.vocabulary)

    config = definition_status(es, model_id)
    assert config["fully_defined"] is True
    assert config["model_size_bytes"] == echo_model.size_bytes
    assert config["inferd"] == {
        "build": 1,
        "definition_sha256": hashlib.sha256(echo_model.definition_path.read_bytes()).hexdigest(),
    }
    stats = es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]
    assert stats["model_size_stats"]["model_size_bytes"] == echo_model.size_bytes


def test_elasticsearch_order_with_parts_in_any_order(es: Elasticsearch, model_id: str, echo_model: TestModel) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    es.ml.put_trained_model_vocabulary(model_id=model_id, body=echo_model.vocabulary)
    parts = parts_of(echo_model)
    order = [2, len(parts) - 1, 0] + [i for i in range(len(parts)) if i not in (0, 2, len(parts) - 1)]
    for index in order:
        put_part(es, model_id, echo_model, index, parts[index], len(parts))
    assert definition_status(es, model_id)["fully_defined"] is True


def test_resending_a_part_is_idempotent_but_changing_it_is_refused(
    es: Elasticsearch, model_id: str, echo_model: TestModel
) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    parts = parts_of(echo_model)
    put_part(es, model_id, echo_model, 1, parts[1], len(parts))
    put_part(es, model_id, echo_model, 1, parts[1], len(parts))
    with pytest.raises(BadRequestError) as refused:
        put_part(es, model_id, echo_model, 1, parts[2], len(parts))
    assert error(refused) == (
        400, "resource_already_exists_exception", f"Trained machine learning model chunked doc [{model_id}][1] already exists"
    )
    for index, data in enumerate(parts):
        put_part(es, model_id, echo_model, index, data, len(parts))
    put_part(es, model_id, echo_model, 0, parts[0], len(parts))  # still idempotent once complete
    assert definition_status(es, model_id)["fully_defined"] is True


def test_parts_that_contradict_the_recorded_totals_are_refused(
    es: Elasticsearch, model_id: str, echo_model: TestModel
) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    parts = parts_of(echo_model)
    put_part(es, model_id, echo_model, 0, parts[0], len(parts))
    with pytest.raises(BadRequestError) as refused:
        put_part(es, model_id, echo_model, 1, parts[1], len(parts) + 1)
    assert "[total_parts]" in error(refused)[2]
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=1, definition=base64.b64encode(parts[1]).decode(),
            total_definition_length=echo_model.size_bytes + 1, total_parts=len(parts),
        )
    assert "[total_definition_length]" in error(refused)[2]


def test_a_definition_shorter_than_announced_never_completes(es: Elasticsearch, model_id: str, echo_model: TestModel) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    parts = parts_of(echo_model)
    for index, data in enumerate(parts[:-1]):
        put_part(es, model_id, echo_model, index, data, len(parts))
    with pytest.raises(BadRequestError) as refused:
        put_part(es, model_id, echo_model, len(parts) - 1, parts[-1][:-10], len(parts))
    assert error(refused)[2].startswith("Model definition truncated.")
    assert definition_status(es, model_id)["fully_defined"] is False


def test_part_validation_lists_every_problem(es: Elasticsearch, model_id: str, echo_model: TestModel) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=-1, definition="AAAA", total_definition_length=0, total_parts=0
        )
    assert error(refused) == (
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: [part] must be greater or equal to 0;2: [total_parts] must be greater than 0;"
        "3: [total_definition_length] must be greater than 0;",
    )
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=3, definition="AAAA", total_definition_length=3, total_parts=10_001
        )
    assert error(refused)[2] == "Validation Failed: 1: [total_parts] must be less than or equal to 10000;"
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=3, definition="AAAA", total_definition_length=3, total_parts=3
        )
    assert error(refused)[2] == "Validation Failed: 1: [part] must be less than total_parts;"
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=0, definition="not base64!", total_definition_length=3, total_parts=3
        )
    assert error(refused)[1] == "x_content_parse_exception"


def test_parts_and_vocabulary_for_an_unknown_model_are_404(es: Elasticsearch) -> None:
    with pytest.raises(NotFoundError) as missing:
        es.ml.put_trained_model_definition_part(
            model_id="no-such-model", part=0, definition="AAAA", total_definition_length=3, total_parts=1
        )
    assert error(missing) == (404, "resource_not_found_exception", "Could not find trained model [no-such-model]")
    with pytest.raises(NotFoundError):
        es.ml.put_trained_model_vocabulary(model_id="no-such-model", vocabulary=["a"])


def test_vocabulary_validation_and_immutability(es: Elasticsearch, model_id: str, echo_model: TestModel) -> None:
    es.ml.put_trained_model(model_id=model_id, body=echo_model.config)
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=[])
    assert error(refused)[2] == "Validation Failed: 1: [vocabulary] must not be empty;"
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_vocabulary(model_id=model_id, body={"merges": ["a b"]})
    assert error(refused)[1:] == ("illegal_argument_exception", "[vocabulary] must not be null.")
    es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=["[PAD]", "replaced-before-completion"])
    es.ml.put_trained_model_vocabulary(model_id=model_id, body=echo_model.vocabulary)
    parts = parts_of(echo_model)
    for index, data in enumerate(parts):
        put_part(es, model_id, echo_model, index, data, len(parts))
    es.ml.put_trained_model_vocabulary(model_id=model_id, body=echo_model.vocabulary)  # the same again: fine
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model_vocabulary(model_id=model_id, vocabulary=["[PAD]", "other"])
    assert "builds are immutable" in error(refused)[2]


def test_models_survive_a_restart(tmp_path, echo_model: TestModel) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        es = client_for(server.url)
        es.ml.put_trained_model(model_id="complete", body=echo_model.config)
        parts = parts_of(echo_model)
        for index, data in enumerate(parts):
            put_part(es, "complete", echo_model, index, data, len(parts))
        es.ml.put_trained_model_vocabulary(model_id="complete", body=echo_model.vocabulary)
        es.ml.put_trained_model(model_id="partial", body=echo_model.config)
        put_part(es, "partial", echo_model, 0, parts[0], len(parts))
        es.ml.put_trained_model_alias(model_id="complete", model_alias="current")
        before = es.ml.get_trained_models(include="definition_status")["trained_model_configs"]

        server.restart()
        es = client_for(server.url)
        after = es.ml.get_trained_models(include="definition_status")["trained_model_configs"]
        assert after == before
        assert [c["fully_defined"] for c in after] == [True, False]
        assert es.ml.get_trained_models(model_id="current")["trained_model_configs"][0]["model_id"] == "complete"
        for index, data in enumerate(parts[1:], 1):
            put_part(es, "partial", echo_model, index, data, len(parts))
        assert definition_status(es, "partial")["fully_defined"] is True
    finally:
        server.stop()
