"""Elasticsearch's `filter_path`: keep (or with `-`, drop) the parts of a response that paths name.

Paths are dot-separated; `*` matches within one name and `**` any number of levels. Arrays are
transparent. Objects and arrays left empty by filtering disappear, as in Elasticsearch.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_MISSING = object()
Pattern = tuple[str, ...]


@lru_cache(maxsize=256)
def _segment_regex(segment: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(piece) for piece in segment.split("*")) + "$")


def _advance(patterns: list[Pattern], key: str) -> list[Pattern]:
    """The patterns still to match below `key`; an empty tuple means `key` is matched completely."""
    remaining: list[Pattern] = []
    for pattern in patterns:
        head, rest = pattern[0], pattern[1:]
        if head == "**":
            remaining.append(pattern)  # `**` consumes this level and stays
            if rest:
                remaining.extend(_advance([rest], key))  # or matches no level at all
            else:
                remaining.append(())
        elif _segment_regex(head).match(key):
            remaining.append(rest)
    return remaining


def _include(value: Any, patterns: list[Pattern]) -> Any:
    if any(not pattern for pattern in patterns):
        return value
    if isinstance(value, dict):
        kept = {}
        for key, child in value.items():
            remaining = _advance(patterns, key)
            if remaining:
                filtered = _include(child, remaining)
                if filtered is not _MISSING:
                    kept[key] = filtered
        return kept or _MISSING
    if isinstance(value, list):
        items = [item for item in (_include(element, patterns) for element in value) if item is not _MISSING]
        return items or _MISSING
    return _MISSING


def _exclude(value: Any, patterns: list[Pattern]) -> Any:
    if isinstance(value, dict):
        kept = {}
        for key, child in value.items():
            remaining = _advance(patterns, key)
            if any(not pattern for pattern in remaining):
                continue
            kept[key] = _exclude(child, remaining) if remaining else child
        return kept
    if isinstance(value, list):
        return [_exclude(element, patterns) for element in value]
    return value


def parse_filter_path(filter_path: str) -> tuple[list[Pattern], list[Pattern]]:
    includes: list[Pattern] = []
    excludes: list[Pattern] = []
    for raw in filter_path.split(","):
        raw = raw.strip()
        if not raw:
            continue
        target = excludes if raw.startswith("-") else includes
        target.append(tuple(raw.lstrip("-").split(".")))
    return includes, excludes


def apply_filter_path(document: Any, filter_path: str) -> Any:
    includes, excludes = parse_filter_path(filter_path)
    if includes:
        document = _include(document, includes)
        if document is _MISSING:
            return {}
    if excludes:
        document = _exclude(document, excludes)
    return document
