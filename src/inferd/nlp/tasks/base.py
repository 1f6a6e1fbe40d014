"""The shape every task post-processor shares, and the small helpers all of them use.

A processor turns the model output for ONE document into Elasticsearch's result dict.
``encodings`` are the model inputs built for that document (several when it was split
into spans, or one per label for zero-shot), ``outputs`` the matching output rows in the
same order, each without the batch dimension. Keeping this a plain function over numpy
arrays lets the worker batch freely and keeps ``nlp/`` free of torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from inferd.nlp.tasks.errors import InvalidModelOutput
from inferd.nlp.tokenizers.options import Encoding

DEFAULT_RESULTS_FIELD = "predicted_value"


class TaskProcessor(Protocol):
    """``process(task_options, text, encodings, outputs, *, vocabulary) -> result``."""

    def __call__(
        self,
        task_options: Mapping[str, Any],
        text: str,
        encodings: Sequence[Encoding],
        outputs: Sequence[np.ndarray],
        *,
        vocabulary: Sequence[str] | None = None,
    ) -> dict[str, Any]: ...


def results_field(task_options: Mapping[str, Any]) -> str:
    """``results_field`` renames ``predicted_value``; null means the default."""
    return task_options.get("results_field") or DEFAULT_RESULTS_FIELD


def with_truncation(result: dict[str, Any], encodings: Sequence[Encoding]) -> dict[str, Any]:
    """Adds ``is_truncated: true`` when any input was truncated, and nothing otherwise (as ES)."""
    if any(e.is_truncated for e in encodings):
        result["is_truncated"] = True
    return result


def as_row(output: np.ndarray | Sequence[Any], what: str) -> np.ndarray:
    """One output row as a flat float64 vector: accepts ``(n,)`` and ``(1, n)`` shapes."""
    array = np.asarray(output, dtype=np.float64)
    if array.ndim > 1 and any(d != 1 for d in array.shape[:-1]):
        raise InvalidModelOutput(f"{what} result has invalid dimensions {list(array.shape)}")
    return array.reshape(-1)


def do_lower_case(task_options: Mapping[str, Any]) -> bool:
    """The ``do_lower_case`` of whichever tokenization container the task carries."""
    tokenization = task_options.get("tokenization") or {}
    for settings in tokenization.values():
        if isinstance(settings, Mapping) and settings.get("do_lower_case"):
            return True
    return False


def option_int(task_options: Mapping[str, Any], name: str, default: int) -> int:
    """An integer option, its default when absent or null."""
    value = task_options.get(name)
    return default if value is None else int(value)
