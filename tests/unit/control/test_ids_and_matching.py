import pytest

from inferd.control.ids import id_problems
from inferd.control.matching import expand_ids


@pytest.mark.parametrize("value", ["a", "model-1", "my_model.v2", "0abc"])
def test_valid_ids(value: str) -> None:
    assert id_problems("model_id", value) == []


@pytest.mark.parametrize("value", ["Upper", "-start", "end-", "_all", "sp ace", "a*"])
def test_invalid_ids_name_the_rule(value: str) -> None:
    assert id_problems("model_id", value) == [
        f"Invalid model_id; '{value}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; "
        "must start and end with alphanumeric"
    ]


def test_long_ids_are_refused() -> None:
    assert id_problems("model_id", "a" * 65) == [f"Invalid model_id; '{'a' * 65}' cannot contain more than 64 characters."]


IDS = ["bert-a", "bert-b", "minilm"]


def test_expressions_expand_ids_aliases_and_wildcards() -> None:
    expansion = expand_ids("minilm,bert-*,best", IDS, {"best": "bert-b"}, allow_no_match=True)
    assert expansion.matched == ["bert-a", "bert-b", "minilm"]
    assert expansion.unmatched == []


@pytest.mark.parametrize("expression", [None, "", "_all", "*"])
def test_everything(expression: str | None) -> None:
    assert expand_ids(expression, IDS, {}, allow_no_match=True).matched == IDS


def test_explicit_ids_are_always_required_wildcards_only_without_allow_no_match() -> None:
    assert expand_ids("nope,gpt-*", IDS, {}, allow_no_match=True).unmatched == ["nope"]
    assert expand_ids("nope,gpt-*", IDS, {}, allow_no_match=False).unmatched == ["nope", "gpt-*"]
    assert expand_ids("_all", [], {}, allow_no_match=False).unmatched == ["*"]
    assert expand_ids("_all", [], {}, allow_no_match=True).unmatched == []
