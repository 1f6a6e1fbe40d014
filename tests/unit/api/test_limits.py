"""What a body may hold: JSON nesting, documents per `_infer`, characters per document."""

from __future__ import annotations

import json
import time

import pytest

from inferd.api.body import parse_json
from inferd.api.limits import RequestLimits, check_infer_documents, holds_more_values_than, nests_deeper_than
from inferd.errors import IllegalArgument, ParseError, ValidationFailed


def nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


@pytest.mark.parametrize("depth", [1, 5, 99, 100])
def test_nesting_up_to_the_limit_is_read(depth: int) -> None:
    assert not nests_deeper_than(nested(depth), 100)
    assert not nests_deeper_than(('{"a":' * depth + "1" + "}" * depth).encode(), 100)
    parse_json(nested(depth), RequestLimits(max_json_depth=100))


@pytest.mark.parametrize("depth", [101, 1000, 100_000])
def test_deeper_nesting_is_refused_before_parsing(depth: int) -> None:
    with pytest.raises(ParseError, match=r"nests objects and arrays more than \[100\] deep \(max_json_depth\)"):
        parse_json(nested(depth), RequestLimits(max_json_depth=100))


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"docs": [{"text_field": "[" * 5000 + '\\"{' * 100}]}).encode()
    assert not nests_deeper_than(body, 10)
    assert parse_json(body, RequestLimits(max_json_depth=10))["docs"][0]["text_field"].startswith("[[[")


def test_many_shallow_documents_are_not_deep() -> None:
    body = json.dumps({"docs": [{"text_field": f"text {i}"} for i in range(20_000)]}).encode()
    started = time.monotonic()
    assert not nests_deeper_than(body, 100)
    assert time.monotonic() - started < 0.5


def test_a_long_string_is_scanned_quickly() -> None:
    body = b'{"definition": "' + b"A" * 50_000_000 + b'", "x": ' + nested(200) + b"}"
    started = time.monotonic()
    assert nests_deeper_than(body, 100)
    assert time.monotonic() - started < 2


def test_unbalanced_text_is_left_to_the_parser() -> None:
    with pytest.raises(ParseError, match=r"^\[1:"):
        parse_json(b"[" * 150 + b"]" * 3, RequestLimits(max_json_depth=100))


LIMITS = RequestLimits(max_json_depth=100, max_infer_documents=3, max_document_chars=10)



def test_documents_per_request_are_bounded() -> None:
    check_infer_documents([{"text_field": "a"}] * 3, LIMITS)
    with pytest.raises(ValidationFailed) as refused:
        check_infer_documents([{"text_field": "a"}] * 4, LIMITS)
    assert refused.value.reason == (
        "Validation Failed: 1: [docs] must contain at most [3] documents; found [4] (max_infer_documents);"
    )


def test_text_per_document_is_bounded() -> None:
    check_infer_documents([{"text_field": "a" * 10}, "not a document"], LIMITS)
    with pytest.raises(IllegalArgument) as refused:
        check_infer_documents([{"text_field": "a"}, {"text_field": "a" * 11}], LIMITS)
    assert refused.value.reason == (
        "Input field [text_field] of document [1] has [11] characters, more than the [10] allowed (max_document_chars)"
    )


def test_pairs_that_close_inside_one_pass_still_count_one_level_each() -> None:
    assert nests_deeper_than(b"{[" * 60 + b"]}" * 60, 100)
    assert not nests_deeper_than(b"{[" * 50 + b"]}" * 50, 100)


def test_a_wide_flat_body_is_measured_quickly() -> None:
    body = b"[" + b"[]," * 5_000_000 + b"[]]"
    started = time.monotonic()
    assert not nests_deeper_than(body, 100)
    assert time.monotonic() - started < 2


def test_a_body_of_many_tiny_values_is_refused_before_parsing() -> None:
    body = b"[" + b"[]," * 2_000_000 + b"[]]"
    started = time.monotonic()
    with pytest.raises(ParseError, match=r"holds more than \[1000000\] values \(max_json_values\)"):
        parse_json(body, RequestLimits(max_json_values=1_000_000))
    assert time.monotonic() - started < 1


def test_commas_inside_strings_are_not_values() -> None:
    body = json.dumps({"docs": [{"text_field": "," * 5000}]}).encode()
    assert not holds_more_values_than(body, 1000)
    assert holds_more_values_than(json.dumps(list(range(1000))).encode(), 1000)  # the array and its 1000 numbers
    assert not holds_more_values_than(json.dumps(list(range(999))).encode(), 1000)


def test_zero_shot_labels_multiply_the_inputs_a_request_makes() -> None:
    update = {"zero_shot_classification": {"labels": ["a", "b"]}}
    check_infer_documents([{"text_field": "a"}], LIMITS, update)
    with pytest.raises(ValidationFailed) as refused:
        check_infer_documents([{"text_field": "a"}] * 2, LIMITS, update)
    assert refused.value.reason == (
        "Validation Failed: 1: [docs] must contain at most [3] documents; found [2] documents times [2] labels "
        "(max_infer_documents);"
    )


def test_texts_of_the_inference_config_update_are_bounded_too() -> None:
    check_infer_documents([{"text_field": "a"}], LIMITS, {"question_answering": {"question": "a" * 10}})
    with pytest.raises(IllegalArgument, match=r"\[inference_config\] field \[question\] holds a text longer"):
        check_infer_documents([{"text_field": "a"}], LIMITS, {"question_answering": {"question": "a" * 11}})
    with pytest.raises(IllegalArgument, match=r"field \[labels\]"):
        check_infer_documents([{"text_field": "a"}], LIMITS, {"zero_shot_classification": {"labels": ["a" * 11]}})
