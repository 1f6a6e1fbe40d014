"""Elasticsearch's unit renderings shared by the API and the control plane (e.g. byte sizes as `1.5kb`)."""

from __future__ import annotations

import math

_UNITS = (("pb", 1024**5), ("tb", 1024**4), ("gb", 1024**3), ("mb", 1024**2), ("kb", 1024))


def _one_decimal(value: float, suffix: str) -> str:
    """ByteSizeValue's format1Decimals: one decimal, truncated, and dropped when it is zero."""
    tenths = math.floor(value * 10) / 10
    text = f"{tenths:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + suffix


def human_bytes(size: int) -> str:
    for suffix, unit in _UNITS:
        if size >= unit:
            return _one_decimal(size / unit, suffix)
    return f"{size}b"


_BYTE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
_TIME_UNITS_S = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _split_number(text: str, units: dict[str, float] | dict[str, int]) -> tuple[float, str] | None:
    lowered = text.strip().lower()
    for suffix in sorted(units, key=len, reverse=True):
        if lowered.endswith(suffix):
            number = lowered[: -len(suffix)].strip()
            try:
                return float(number), suffix
            except ValueError:
                return None
    return None


def parse_byte_size(text: str, setting: str) -> int:
    """Elasticsearch's ByteSizeValue: a number with a unit (`10kb`, `1.5mb`), or a bare `0` / `-1`."""
    if text.strip() in ("0", "-1"):
        return int(text.strip())
    parsed = _split_number(text, _BYTE_UNITS)
    if parsed is None or parsed[0] < 0:
        raise ValueError(
            f"failed to parse setting [{setting}] with value [{text}] as a size in bytes: unit is missing or unrecognized"
        )
    number, unit = parsed
    return int(number * _BYTE_UNITS[unit])


def parse_time_value(text: str, setting: str) -> float:
    """Elasticsearch's TimeValue, in seconds: `10s`, `500ms`, `1m`, `2h`, `1d`, `100micros`, or `0` / `-1`."""
    if text.strip() in ("0", "-1"):
        return float(text.strip())
    parsed = _split_number(text, _TIME_UNITS_S)
    if parsed is None:
        raise ValueError(
            f"failed to parse setting [{setting}] with value [{text}] as a time value: unit is missing or unrecognized"
        )
    number, unit = parsed
    return number * _TIME_UNITS_S[unit]
