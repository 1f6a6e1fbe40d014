"""`PUT /_ml/trained_models/{id}`: every task's config with its defaults, and every validation rule."""

from __future__ import annotations

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from inferd.importer.tasks import TaskType
from tests.support.api import error
from tests.support.models import make_test_model

BERT_DEFAULTS = {"do_lower_case": False, "with_special_tokens": True, "max_sequence_length": 512,
                 "truncate": "first", "span": -1}


def pytorch(task: str, options: dict | None = None, **fields) -> dict:
    return {"model_type": "pytorch", "inference_config": {task: options or {}}, **fields}


@pytest.mark.parametrize("kind", [task.value for task in TaskType])
def test_every_task_of_a_traced_model_round_trips(es: Elasticsearch, model_id: str, models_dir, kind: str) -> None:
    model = make_test_model(kind, models_dir)
    created = es.ml.put_trained_model(model_id=model_id, body=model.config)
    stored = es.ml.get_trained_models(model_id=model_id)["trained_model_configs"][0]
    assert stored == created.body
    assert stored["model_type"] == "pytorch"
    task_config = stored["inference_config"][kind]
    assert task_config["results_field"] == "predicted_value"
    assert set(task_config["tokenization"]["bert"]) == set(BERT_DEFAULTS)
    assert stored["input"] == {"field_names": ["text_field"]}
    assert stored["metadata"]["per_deployment_memory_bytes"] > 0


@pytest.mark.parametrize(
    "task, options, expected",
    [
        ("pass_through", {}, {}),
        ("text_expansion", {}, {}),
        ("text_embedding", {"embedding_size": 384}, {"embedding_size": 384}),
        ("ner", {"classification_labels": ["O", "B_PER", "I_PER"]}, {"classification_labels": ["O", "B_PER", "I_PER"]}),
        ("text_classification", {}, {"num_top_classes": 0}),
        ("fill_mask", {}, {"mask_token": "[MASK]", "num_top_classes": 0}),
        ("question_answering", {}, {"num_top_classes": 0, "max_answer_length": 15}),
        ("text_similarity", {}, {"span_score_combination_function": "max"}),
        ("zero_shot_classification", {"classification_labels": ["entailment", "neutral", "contradiction"]},
         {"classification_labels": ["entailment", "neutral", "contradiction"],
          "hypothesis_template": "This example is {}.", "multi_label": False}),
    ],
)
def test_defaults_are_filled_in(es: Elasticsearch, model_id: str, task: str, options: dict, expected: dict) -> None:
    created = es.ml.put_trained_model(model_id=model_id, body=pytorch(task, options))
    assert created["input"] == {"field_names": ["input"]}
    assert created["inference_config"][task] == {
        "tokenization": {"bert": BERT_DEFAULTS}, "results_field": "predicted_value", **expected
    }


@pytest.mark.parametrize("tokenizer", ["bert", "bert_ja", "mpnet", "roberta", "xlm_roberta", "deberta_v2"])
def test_every_tokenization_container(es: Elasticsearch, model_id: str, tokenizer: str) -> None:
    body = pytorch("fill_mask", {"tokenization": {tokenizer: {"max_sequence_length": 128}}})
    config = es.ml.put_trained_model(model_id=model_id, body=body)["inference_config"]["fill_mask"]
    options = config["tokenization"][tokenizer]
    assert options["max_sequence_length"] == 128 and options["truncate"] == "first"
    assert ("add_prefix_space" in options) == (tokenizer == "roberta")
    assert config["mask_token"] == ("<mask>" if tokenizer in ("mpnet", "roberta", "xlm_roberta") else "[MASK]")


def test_optional_fields_are_kept(es: Elasticsearch, model_id: str) -> None:
    body = pytorch("text_embedding", description="d", tags=["nlp"], metadata={"k": 1},
                   prefix_strings={"ingest": "passage: ", "search": "query: "},
                   platform_architecture="linux-x86_64", input={"field_names": ["body"]})
    created = es.ml.put_trained_model(model_id=model_id, body=body)
    for name in ("description", "tags", "metadata", "prefix_strings", "platform_architecture", "input"):
        assert created[name] == body[name]


def test_duplicate_id_is_refused(es: Elasticsearch, model_id: str) -> None:
    es.ml.put_trained_model(model_id=model_id, body=pytorch("pass_through"))
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=pytorch("pass_through"))
    assert error(refused) == (
        400, "resource_already_exists_exception", f"Trained machine learning model [{model_id}] already exists"
    )


def test_invalid_ids_are_refused_with_every_reason(es: Elasticsearch) -> None:
    bad = "Bad_" + "x" * 70
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=bad, body=pytorch("pass_through"))
    assert error(refused) == (
        400,
        "action_request_validation_exception",
        f"Validation Failed: 1: Invalid model_id; '{bad}' can contain lowercase alphanumeric (a-z and 0-9), hyphens "
        f"or underscores; must start and end with alphanumeric;2: Invalid model_id; '{bad}' cannot contain more "
        "than 64 characters.;",
    )


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"inference_config": {"pass_through": {}}}, "[model_type] must be set if [definition] is not defined."),
        (pytorch("pass_through", input={"field_names": []}), "[input.field_names] must not be empty"),
        (pytorch("pass_through", metadata={"per_deployment_memory_bytes": "lots"}),
         "[metadata.per_deployment_memory_bytes] must be a non-negative integer"),
        ({"model_type": "pytorch"}, "[inference_config] must not be null."),
        (pytorch("pass_through", create_time=1), "illegal to set [create_time] at inference model creation"),
        (pytorch("pass_through", tags=["Bad Tag"]), "Invalid tags [Bad Tag]"),
    ],
)
def test_config_validation(es: Elasticsearch, model_id: str, body: dict, reason: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=body)
    status, kind, message = error(refused)
    assert (status, kind) == (400, "action_request_validation_exception")
    assert reason in message


@pytest.mark.parametrize(
    "body, kind, reason",
    [
        (pytorch("fill_mask", {"mask_token": "<mask>"}), "illegal_argument_exception",
         "Mask token requested was [<mask>] but must be [[MASK]] for this model"),
        (pytorch("zero_shot_classification", {"classification_labels": ["yes", "no", "maybe"]}),
         "illegal_argument_exception",
         "[classification_labels] must contain exactly the three values [contradiction, entailment, neutral]. "
         "Invalid labels [yes, no, maybe]"),
        (pytorch("ner", {"tokenization": {"bert": {"span": 64}}}), "illegal_argument_exception",
         "[span] must not be provided when [truncate] is [first]"),
    ],
)
def test_task_options_are_validated(es: Elasticsearch, model_id: str, body: dict, kind: str, reason: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=body)
    assert error(refused)[:2] == (400, "x_content_parse_exception")
    cause = refused.value.body["error"]["caused_by"]
    assert (cause["type"], cause["reason"]) == (kind, reason)


def test_unsupported_model_types_are_refused(es: Elasticsearch, model_id: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body={"model_type": "tree_ensemble",
                                                          "inference_config": {"regression": {}}})
    assert "inferd serves [pytorch] NLP models" in error(refused)[2]
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=pytorch("pass_through", definition={"trained_model": {}}))
    assert "uploaded in parts" in error(refused)[2]


def test_tags_may_not_name_models(es: Elasticsearch, model_id: str) -> None:
    es.ml.put_trained_model(model_id=model_id, body=pytorch("pass_through", tags=["shared-tag"]))
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=f"{model_id}-2", body=pytorch("pass_through", tags=[model_id]))
    assert error(refused)[2] == f"The provided tags [{model_id}] must not match existing model_ids."
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id="shared-tag", body=pytorch("pass_through"))
    assert error(refused)[2] == "The provided model_id shared-tag must not match existing tags."


@pytest.mark.parametrize(
    "body, outer, inner",
    [
        ({"model_type": "pytorch", "inference_config": {"ner": None}}, "[trained_model_config] failed to parse field "
         "[inference_config]", "[inference_config] must contain exactly one task"),
        (pytorch("ner", {"tokenization": {"bert": {"spam": 1}}}), "[trained_model_config] failed to parse field "
         "[inference_config]", "[bert] unknown field [spam]"),
    ],
)
def test_nested_errors_are_wrapped_by_the_top_level_parser(
    es: Elasticsearch, model_id: str, body: dict, outer: str, inner: str
) -> None:
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=body)
    assert error(refused)[2] == outer
    assert refused.value.body["error"]["caused_by"]["reason"] == inner


def test_a_vocabulary_in_the_config_is_refused(es: Elasticsearch, model_id: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        es.ml.put_trained_model(model_id=model_id, body=pytorch("ner", {"vocabulary": {"index": "x"}}))
    assert error(refused)[2] == "illegal setting [vocabulary] on inference model creation"


@pytest.mark.parametrize("model_id_in_path", ["abc%0A", "ab%20c"])
def test_ids_are_matched_whole(http, model_id_in_path: str) -> None:
    response = http.put(f"/_ml/trained_models/{model_id_in_path}", json=pytorch("pass_through"))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "action_request_validation_exception"
