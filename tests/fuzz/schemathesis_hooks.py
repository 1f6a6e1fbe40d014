"""Schemathesis hooks for `st run` (loaded through `SCHEMATHESIS_HOOKS` by `test_schemathesis_phases.py`).

`elasticsearch_answers` fails a response with a 5xx or an error that is not in Elasticsearch's shape, and at the end
of the run writes how many requests each operation got, by status class, to `$INFERD_ST_COUNTS` (JSON): the CLI's
own reports count failures, not requests.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis

from tests.support.fuzz import error_problems


@schemathesis.check
class elasticsearch_answers:  # noqa: N801 - schemathesis names the check after the class
    """Below 500, and every error in Elasticsearch's shape."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()  # (operation, case id, status class): shrinking repeats cases

    def after_response(self, ctx: Any, response: Any, case: Any) -> None:
        self.seen.add((case.operation.label, case.id, f"{response.status_code // 100}xx"))
        described = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:300]}"
        assert response.status_code < 500, described
        if response.status_code >= 400 and case.method.upper() != "HEAD":
            try:
                body = response.json()
            except ValueError:
                body = response.text
            problems = error_problems(case.path, response.status_code, body, case.query)
            assert not problems, f"{described}: {problems}"

    def after_run(self, ctx: Any) -> None:
        counts: Counter[str] = Counter(f"{operation} {status}" for operation, _, status in self.seen)
        Path(os.environ["INFERD_ST_COUNTS"]).write_text(json.dumps(counts, sort_keys=True))
