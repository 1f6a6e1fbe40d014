"""Bounds on what one request may ask of the server: JSON nesting, documents per `_infer`, text per document.

The body's size is bounded before it is read (`middleware/body_limit.py`), the request head by the HTTP protocol
(`http_protocol.py`); these bounds apply to what a body holds. Each is a `Settings` field, read once by `create_app`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from inferd.errors import IllegalArgument, ParseError, ValidationFailed
from inferd.settings import Settings

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


@dataclass(frozen=True)
class RequestLimits:
    max_json_depth: int = 100
    max_json_values: int = 5_000_000
    max_infer_documents: int = 10_000
    max_document_chars: int = 1_000_000

    @classmethod
    def of(cls, settings: Settings) -> RequestLimits:
        return cls(settings.max_json_depth, settings.max_json_values, settings.max_infer_documents,
                   settings.max_document_chars)


def request_limits(request: Request) -> RequestLimits:
    limits: RequestLimits = request.app.state.request_limits
    return limits


def nests_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether the JSON text nests objects and arrays more than `limit` deep, decided without parsing it.

    Strings are dropped, then each pass removes the innermost `[]`/`{}` pairs (marked first, so a pair that a
    removal closes waits for the next pass): one level per pass, all in C. Unbalanced text is left to the parser.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the usual body: too few brackets to nest that deep
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        marked = brackets.replace(b"[]", b"x").replace(b"{}", b"x")
        if len(marked) == len(brackets):
            return False
        brackets = marked.replace(b"x", b"")
    return b"[]" in brackets or b"{}" in brackets


def holds_more_values_than(raw: bytes, limit: int) -> bool:
    """Whether the JSON text holds more than `limit` values, counted by separators outside strings (an upper
    bound for valid JSON: each value but the first follows a comma or opens a container)."""
    def count(text: bytes) -> int:
        return text.count(b",") + text.count(b"[") + text.count(b"{") + 1

    return count(raw) > limit and count(_STRING.sub(b"", raw)) > limit


def check_json_shape(raw: bytes, limits: RequestLimits) -> None:
    """Refuse a body whose parsing alone would cost too much: too deep for the parser, or too many values."""
    if nests_deeper_than(raw, limits.max_json_depth):
        raise ParseError(
            f"[1:1] the request body nests objects and arrays more than [{limits.max_json_depth}] deep (max_json_depth)"
        )
    if holds_more_values_than(raw, limits.max_json_values):
        raise ParseError(
            f"[1:1] the request body holds more than [{limits.max_json_values}] values (max_json_values)"
        )


def check_infer_documents(
    documents: Sequence[Any], limits: RequestLimits, update: Mapping[str, Any] | None = None
) -> None:
    """At most `max_infer_documents` model inputs (a zero-shot request's documents times its labels), and no text,
    in a document or in the `inference_config` update, longer than `max_document_chars`."""
    inputs = len(documents)
    options = next(iter(update.values()), None) if isinstance(update, Mapping) and len(update) == 1 else None
    labels = options.get("labels") if isinstance(options, Mapping) else None
    label_count = len(labels) if isinstance(labels, list) else 0
    if label_count:
        inputs *= label_count
    if inputs > limits.max_infer_documents:
        found = f"{len(documents)}]" + (f" documents times [{label_count}] labels" if inputs > len(documents) else "")
        raise ValidationFailed(
            [f"[docs] must contain at most [{limits.max_infer_documents}] documents; found [{found} "
             "(max_infer_documents)"]
        )
    for index, document in enumerate(documents):
        if not isinstance(document, Mapping):
            continue  # refused later with Elasticsearch's own message
        for field, value in document.items():
            if isinstance(value, str) and len(value) > limits.max_document_chars:
                raise IllegalArgument(
                    f"Input field [{field}] of document [{index}] has [{len(value)}] characters, more than the "
                    f"[{limits.max_document_chars}] allowed (max_document_chars)"
                )
    if isinstance(options, Mapping):
        for name, value in options.items():
            texts = value if isinstance(value, list) else [value]
            if any(isinstance(text, str) and len(text) > limits.max_document_chars for text in texts):
                raise IllegalArgument(
                    f"[inference_config] field [{name}] holds a text longer than the [{limits.max_document_chars}] "
                    "characters allowed (max_document_chars)"
                )
