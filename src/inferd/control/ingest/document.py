"""A document in a pipeline, as Elasticsearch's `IngestDocument`: its source, metadata and `_ingest` fields, read and
written by dotted paths (`a.b.c`, `_source.a`, `_ingest.timestamp`, `_index`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from inferd.errors import IllegalArgument

METADATA = ("_index", "_id", "_routing", "_version", "_version_type", "_if_seq_no", "_if_primary_term",
            "_dynamic_templates")
MISSING = object()
_ABSENT = object()


@dataclass
class IngestDocument:
    source: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)

    def _container(self, path: str) -> tuple[dict[str, Any], list[str]]:
        parts = path.split(".")
        if parts[0] == "_ingest" and len(parts) > 1:
            return self.ingest, parts[1:]
        if parts[0] in METADATA and len(parts) == 1:
            return self.metadata, parts
        if parts[0] == "_source" and len(parts) > 1:
            return self.source, parts[1:]
        return self.source, parts

    def get(self, path: str, default: Any = MISSING) -> Any:
        """The value at `path`; `default` (or `IllegalArgument`, as Elasticsearch) when a part is missing."""
        node: Any
        container, parts = self._container(path)
        node = container
        for index, part in enumerate(parts):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                if default is not MISSING:
                    return default
                if index == 0 or isinstance(node, dict):
                    raise IllegalArgument(f"field [{part}] not present as part of path [{path}]")
                raise IllegalArgument(f"cannot resolve [{part}] from object of type [{_java_type(node)}] as part of "
                                      f"path [{path}]")
        return node

    def has(self, path: str) -> bool:
        return self.get(path, _ABSENT) is not _ABSENT

    def set(self, path: str, value: Any) -> None:
        container, parts = self._container(path)
        node: Any = container
        for part in parts[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise IllegalArgument(f"cannot set [{parts[-1]}] with parent object of type [{_java_type(child)}] as "
                                      f"part of path [{path}]")
            node = child
        node[parts[-1]] = value

    def remove(self, path: str) -> None:
        container, parts = self._container(path)
        parent: Any = container
        for part in parts[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
            if not isinstance(parent, dict):
                raise IllegalArgument(f"field [{part}] not present as part of path [{path}]")
        if parts[-1] not in parent:
            raise IllegalArgument(f"field [{parts[-1]}] not present as part of path [{path}]")
        del parent[parts[-1]]

    def snapshot(self) -> IngestDocument:
        return IngestDocument(copy.deepcopy(self.source), dict(self.metadata), copy.deepcopy(self.ingest))

    def render(self) -> dict[str, Any]:
        """Elasticsearch's simulate shape: the metadata, `_source` and `_ingest`."""
        return {**{name: value for name, value in self.metadata.items() if value is not None}, "_source": self.source,
                "_ingest": self.ingest}


def _java_type(value: Any) -> str:
    return {str: "java.lang.String", int: "java.lang.Integer", float: "java.lang.Double", bool: "java.lang.Boolean",
            list: "java.util.ArrayList"}.get(type(value), "java.lang.Object")
