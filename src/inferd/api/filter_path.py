"""Elasticsearch's `filter_path`: keep (or with `-`, drop) the parts of a response that paths name.

Paths are dot-separated; `*` matches within one name and `**` any number of levels. Arrays are
transparent. Objects and arrays left empty by filtering disappear, as in Elasticsearch.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()
Pattern = tuple[str, ...]


def glob_matches(pattern: str, name: str) -> bool:
    """`*` matches any run of characters; linear time, unlike a backtracking regex (Elasticsearch's simpleMatch)."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == name
    head, *middle, tail = pieces
    if not name.startswith(head) or not name[len(head) :].endswith(tail) or len(name) < len(head) + len(tail):
        return False
    position, end = len(head), len(name) - len(tail)
    for piece in middle:
        found = name.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _advance(patterns: list[Pattern], key: str) -> list[Pattern]:
    """The patterns still to match below `key`; an empty tuple means `key` is matched completely."""
    return list(dict.fromkeys(_advance_each(patterns, key)))


def _advance_each(patterns: list[Pattern], key: str) -> list[Pattern]:
    remaining: list[Pattern] = []
    for pattern in patterns:
        head, rest = pattern[0], pattern[1:]
        if head == "**":
            remaining.append(pattern)  # `**` consumes this level and stays
            if rest:
                remaining.extend(_advance([rest], key))  # or matches no level at all
            else:
                remaining.append(())
        elif glob_matches(head, key):
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
        segments: list[str] = []
        for segment in raw.lstrip("-").split("."):
            if not (segment == "**" and segments and segments[-1] == "**"):  # `**.**` is `**`
                segments.append(segment)
        target.append(tuple(segments))
    return list(dict.fromkeys(includes)), list(dict.fromkeys(excludes))


def apply_filter_path(document: Any, filter_path: str) -> Any:
    includes, excludes = parse_filter_path(filter_path)
    if includes:
        document = _include(document, includes)
        if document is _MISSING:
            return {}
    if excludes:
        document = _exclude(document, excludes)
    return document
