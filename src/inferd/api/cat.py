"""Elasticsearch's `_cat` tables: columns with aliases and defaults, `h` (names, aliases, wildcards), `s` (sort,
`:desc`), `v` (header), `format` (text or json), `bytes` and `time` (units), `help`."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi.responses import PlainTextResponse, Response

from inferd.api.responses import FastJSONResponse
from inferd.errors import IllegalArgument
from inferd.units import human_bytes

BYTE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
TIME_UNITS_MS = {"nanos": 1e-6, "micros": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6, "d": 8.64e7}


class Kind(StrEnum):
    TEXT = "text"
    BYTES = "bytes"
    TIME_MS = "time"
    NUMBER = "number"


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    default: bool
    description: str
    kind: Kind = Kind.TEXT


def _cell(value: Any, kind: Kind, byte_unit: str | None, time_unit: str | None) -> Any:
    if value is None:
        return None
    if kind is Kind.BYTES:
        return str(value // BYTE_UNITS[byte_unit]) if byte_unit else human_bytes(int(value))
    if kind is Kind.TIME_MS:
        return str(int(value / TIME_UNITS_MS[time_unit])) if time_unit else f"{value}ms"
    return value if isinstance(value, str) else str(value)


def _selected(columns: Sequence[Column], header: str | None) -> list[Column]:
    if not header:
        return [column for column in columns if column.default]
    chosen: list[Column] = []
    for wanted in header.split(","):
        wanted = wanted.strip()
        matches = [column for column in columns if fnmatch.fnmatchcase(column.name, wanted) or wanted in column.aliases]
        if not matches:
            raise IllegalArgument(f"header [{wanted}] not found")
        chosen += [column for column in matches if column not in chosen]
    return chosen


def _sort(rows: list[dict[str, Any]], columns: Sequence[Column], sort: str | None) -> list[dict[str, Any]]:
    for key in reversed((sort or "").split(",") if sort else []):
        name, _, order = key.strip().partition(":")
        column = next((c for c in columns if c.name == name or name in c.aliases), None)
        if column is None:
            raise IllegalArgument(f"Unable to sort by unknown sort key `{name}`")
        rows = sorted(rows, key=lambda row: (row.get(column.name) is None, row.get(column.name) or 0
                                             if column.kind is not Kind.TEXT else str(row.get(column.name) or "")),
                      reverse=order == "desc")
    return rows


def render_table(columns: Sequence[Column], rows: list[dict[str, Any]], *, header: str | None, verbose: bool,
                 sort: str | None, output_format: str | None, byte_unit: str | None, time_unit: str | None,
                 show_help: bool) -> Response:
    """The table as text or JSON; rows hold raw values (bytes as integers, times as milliseconds)."""
    if byte_unit is not None and byte_unit not in BYTE_UNITS:
        raise IllegalArgument(f"failed to parse setting [bytes] with value [{byte_unit}] as a size in bytes")
    if time_unit is not None and time_unit not in TIME_UNITS_MS:
        raise IllegalArgument(f"failed to parse [time] with value [{time_unit}]")
    if show_help:
        lines = [f"{c.name} | {','.join(c.aliases)} | {c.description}" for c in columns]
        return PlainTextResponse("\n".join(lines) + "\n")
    selected = _selected(columns, header)
    cells = [{c.name: _cell(row.get(c.name), c.kind, byte_unit, time_unit) for c in selected}
             for row in _sort(rows, columns, sort)]
    if output_format == "json":
        return FastJSONResponse(cells)
    if output_format not in (None, "text", "txt"):
        raise IllegalArgument(f"format [{output_format}] is not supported by inferd's _cat; use text or json")
    table = ([[c.name for c in selected]] if verbose else []) + [
        ["null" if row[c.name] is None else row[c.name] for c in selected] for row in cells]
    widths = [max((len(str(line[i])) for line in table), default=0) for i in range(len(selected))]
    text = "".join(" ".join(str(value).ljust(width) for value, width in zip(line, widths, strict=True)).rstrip() + "\n"
                   for line in table)
    return PlainTextResponse(text)
