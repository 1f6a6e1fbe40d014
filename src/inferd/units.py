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
