"""Deprecation warnings as Elasticsearch sends them: a `Warning` header elasticsearch-py turns into a warning."""

from __future__ import annotations

from fastapi import Response

from inferd.api.routes.root import ELASTICSEARCH_VERSION

_AGENT = f"Elasticsearch-{ELASTICSEARCH_VERSION['number']}-{ELASTICSEARCH_VERSION['build_hash']}"


def warn(response: Response, message: str) -> None:
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    response.headers.append("Warning", f'299 {_AGENT} "{escaped}"')
