"""`remove`: fields (one or a list), or every field but those in `keep`."""

from __future__ import annotations

from inferd.control.ingest.document import METADATA, IngestDocument
from inferd.control.ingest.processors.base import Common, Config, Processor
from inferd.control.ingest.templates import render_template


def _names(config: Config, name: str) -> list[str] | None:
    value = config.value(name)
    if value is None:
        return None
    names = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in names):
        raise config.error(name, f"[{name}] property isn't a list of strings")
    return names


class RemoveProcessor(Processor):
    def __init__(self, common: Common, fields: list[str], keep: list[str], ignore_missing: bool) -> None:
        super().__init__(common)
        self.fields = fields
        self.keep = keep
        self.ignore_missing = ignore_missing

    @classmethod
    def create(cls, common: Common, config: Config) -> RemoveProcessor:
        fields = _names(config, "field")
        keep = _names(config, "keep")
        if fields is None and keep is None:
            raise config.error("keep", "[keep] or [field] must be specified")
        if fields is not None and keep is not None:
            raise config.error("keep", "[keep] and [field] cannot both be used in the same processor")
        return cls(common, fields or [], keep or [], config.boolean("ignore_missing", False))

    def apply(self, document: IngestDocument) -> None:
        if self.keep:
            kept = {name.split(".")[0] for name in self.keep}
            for name in [name for name in document.source if name not in kept]:
                del document.source[name]
            return
        for template in self.fields:
            field = render_template(template, document)
            if field in METADATA and field in ("_index", "_version", "_version_type"):
                raise ValueError(f"cannot remove metadata field [{field}]")
            if self.ignore_missing and not document.has(field):
                continue
            document.remove(field)
