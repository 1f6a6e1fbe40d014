"""Mustache templates in processor options (`{{field}}`, `{{{field}}}`, `{{_ingest.timestamp}}`), as Elasticsearch
renders them against the document: anything else a template could do (sections, partials) is refused when the
pipeline is stored."""

from __future__ import annotations

import json
import re
from typing import Any

from inferd.control.ingest.document import MISSING, IngestDocument

_TAG = re.compile(r"\{\{\{?\s*([^{}]*?)\s*\}?\}\}")
_UNSUPPORTED = re.compile(r"\{\{\s*[#^/>!&=]")


def unsupported_template(text: str) -> bool:
    """Whether `text` uses mustache beyond variables."""
    return bool(_UNSUPPORTED.search(text))


def render_template(text: str, document: IngestDocument) -> str:
    """`text` with each `{{path}}` replaced by the document's value there (empty when missing, JSON for objects)."""
    def value(match: re.Match[str]) -> str:
        found = document.get(match.group(1), None)
        if found is None or found is MISSING:
            return ""
        if isinstance(found, (dict, list)):
            return json.dumps(found, separators=(",", ":"))
        if isinstance(found, bool):
            return str(found).lower()
        return str(found)

    return _TAG.sub(value, text) if "{{" in text else text


def render_value(value: Any, document: IngestDocument) -> Any:
    """A processor's `value`: strings rendered, lists and objects rendered inside, everything else as given."""
    if isinstance(value, str):
        return render_template(value, document)
    if isinstance(value, list):
        return [render_value(item, document) for item in value]
    if isinstance(value, dict):
        return {render_template(key, document): render_value(item, document) for key, item in value.items()}
    return value
