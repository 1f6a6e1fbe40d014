"""Reading, listing, paging, filtering, stats, deletion and aliases, on a server of its own.

A private server keeps the expected lists exact, whatever other tests store on the shared one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError

from tests.support.api import error
from tests.support.server import ServerProcess, client_for

IDS = ["bert-a", "bert-b", "minilm", "ner-x"]


def body(task: str, **fields) -> dict:
    return {"model_type": "pytorch", "inference_config": {task: {}}, **fields}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Elasticsearch]:
    server = ServerProcess(tmp_path_factory.mktemp("listing") / "data").start()
    es = client_for(server.url)
    for model_id in IDS:
        task = "ner" if model_id.startswith("ner") else "text_embedding"
        es.ml.put_trained_model(model_id=model_id, body=body(task, tags=["bert"] if "bert" in model_id else []))
    es.ml.put_trained_model_alias(model_id="minilm", model_alias="embedder")
    yield es
    server.stop()


def ids(response) -> list[str]:
    return [config["model_id"] for config in response["trained_model_configs"]]


@pytest.mark.parametrize(
    "expression, expected",
    [
        (None, IDS), ("_all", IDS), ("*", IDS), ("bert-*", ["bert-a", "bert-b"]),
        ("ner-x,bert-a", ["bert-a", "ner-x"]), ("embedder", ["minilm"]), ("embedder,minilm,m*", ["minilm"]),
        ("nothing-*", []),
    ],
)
def test_expressions(catalogue: Elasticsearch, expression: str | None, expected: list[str]) -> None:
    response = catalogue.ml.get_trained_models(model_id=expression)
    assert ids(response) == expected
    assert response["count"] == len(expected)


def test_aliases_show_in_metadata(catalogue: Elasticsearch) -> None:
    config = catalogue.ml.get_trained_models(model_id="minilm")["trained_model_configs"][0]
    assert config["metadata"]["model_aliases"] == ["embedder"]


def test_missing_ids_and_allow_no_match(catalogue: Elasticsearch) -> None:
    with pytest.raises(NotFoundError) as missing:
        catalogue.ml.get_trained_models(model_id="bert-a,nope")
    assert error(missing) == (404, "resource_not_found_exception", "Could not find trained model [nope]")
    with pytest.raises(NotFoundError) as missing:
        catalogue.ml.get_trained_models(model_id="nothing-*", allow_no_match=False)
    assert error(missing)[2] == "No known trained model with model_id [nothing-*]"
    with pytest.raises(NotFoundError):
        catalogue.ml.get_trained_models_stats(model_id="nothing-*", allow_no_match=False)


def test_paging_and_tags(catalogue: Elasticsearch) -> None:
    response = catalogue.ml.get_trained_models(from_=1, size=2)
    assert ids(response) == ["bert-b", "minilm"] and response["count"] == len(IDS)
    assert ids(catalogue.ml.get_trained_models(tags="bert")) == ["bert-a", "bert-b"]
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.get_trained_models(from_=9_999, size=2)
    assert error(refused)[2] == "The sum of parameters [from] and [size] cannot be higher than 10000."


def test_include_options(catalogue: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.get_trained_models(model_id="minilm", include="definition")
    assert error(refused)[2] == "[minilm] is type [pytorch] and does not support retrieving the definition"
    generated = catalogue.ml.get_trained_models(model_id="minilm", exclude_generated=True)["trained_model_configs"][0]
    assert "create_time" not in generated and "version" not in generated and "inferd" not in generated
    assert generated["inference_config"]["text_embedding"]["results_field"] == "predicted_value"


def test_stats(catalogue: Elasticsearch) -> None:
    response = catalogue.ml.get_trained_models_stats(model_id="bert-*", human=True)
    assert response["count"] == 2
    entry = response["trained_model_stats"][0]
    assert entry["model_id"] == "bert-a"
    assert entry["model_size_stats"] == {"model_size": "0b", "model_size_bytes": 0,
                                          "required_native_memory_bytes": 240 * 1024 * 1024,
                                          "required_native_memory": "240mb"}
    assert entry["inference_stats"]["inference_count"] == 0
    assert "deployment_stats" not in entry


def test_alias_rules(catalogue: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.put_trained_model_alias(model_id="bert-a", model_alias="embedder")
    assert error(refused)[2] == (
        "cannot assign model_alias [embedder] to model_id [bert-a] as model_alias already refers to [minilm]. "
        "Set parameter [reassign] to [true] if model_alias should be reassigned."
    )
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.put_trained_model_alias(model_id="ner-x", model_alias="embedder", reassign=True)
    assert error(refused)[2] == (
        "cannot reassign model_alias [embedder] to model [ner-x] with inference config type [ner] "
        "from model [minilm] with type [text_embedding]"
    )
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.put_trained_model_alias(model_id="bert-a", model_alias="bert-b")
    assert error(refused)[2] == "model_alias cannot be the same as an existing trained model_id"
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.put_trained_model_alias(model_id="bert-a", model_alias="alias1")
    assert error(refused)[1] == "action_request_validation_exception"
    assert "cannot end with numbers" in error(refused)[2]
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.put_trained_model_alias(model_id="bert-a", model_alias="a" * 65)
    assert "cannot contain more than 64 characters" in error(refused)[2]
    with pytest.raises(NotFoundError) as missing:
        catalogue.ml.put_trained_model_alias(model_id="ghost", model_alias="spooky")
    assert error(missing)[2] == "No known trained model with model_id [ghost]"
    with pytest.raises(BadRequestError) as refused:
        catalogue.ml.put_trained_model(model_id="embedder", body=body("text_embedding"))
    assert "is the same as an existing model_alias" in error(refused)[2]


def test_reassign_and_delete_alias(catalogue: Elasticsearch) -> None:
    catalogue.ml.put_trained_model_alias(model_id="bert-a", model_alias="moving")
    catalogue.ml.put_trained_model_alias(model_id="bert-b", model_alias="moving", reassign=True)
    assert ids(catalogue.ml.get_trained_models(model_id="moving")) == ["bert-b"]
    with pytest.raises(ConflictError) as conflict:
        catalogue.ml.delete_trained_model_alias(model_id="bert-a", model_alias="moving")
    assert error(conflict)[2] == "model_alias [moving] does not refer to provided model_id [bert-a]"
    catalogue.ml.delete_trained_model_alias(model_id="bert-b", model_alias="moving")
    with pytest.raises(NotFoundError) as missing:
        catalogue.ml.delete_trained_model_alias(model_id="bert-b", model_alias="moving")
    assert error(missing)[2] == "model_alias [moving] could not be found"


def test_delete_removes_the_model_and_its_aliases(catalogue: Elasticsearch) -> None:
    catalogue.ml.put_trained_model(model_id="doomed", body=body("pass_through"))
    catalogue.ml.put_trained_model_alias(model_id="doomed", model_alias="doomed-alias")
    assert catalogue.ml.delete_trained_model(model_id="doomed") == {"acknowledged": True}
    with pytest.raises(NotFoundError):
        catalogue.ml.get_trained_models(model_id="doomed")
    with pytest.raises(NotFoundError):
        catalogue.ml.get_trained_models(model_id="doomed-alias")
    with pytest.raises(NotFoundError) as missing:
        catalogue.ml.delete_trained_model(model_id="doomed")
    assert error(missing)[2] == "Could not find trained model [doomed]"
    catalogue.ml.put_trained_model(model_id="doomed", body=body("pass_through"))  # the id is free again
