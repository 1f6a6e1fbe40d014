"""`rename`: a field moved to a new name that must not exist yet."""

from __future__ import annotations

from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.processors.base import Common, Config, Processor
from inferd.control.ingest.templates import render_template
from inferd.errors import IllegalArgument


class RenameProcessor(Processor):
    def __init__(self, common: Common, field: str, target_field: str, ignore_missing: bool, override: bool) -> None:
        super().__init__(common)
        self.field = field
        self.target_field = target_field
        self.ignore_missing = ignore_missing
        self.override = override

    @classmethod
    def create(cls, common: Common, config: Config) -> RenameProcessor:
        return cls(common, config.required_string("field"), config.required_string("target_field"),
                   config.boolean("ignore_missing", False), config.boolean("override", False))

    def apply(self, document: IngestDocument) -> None:
        field = render_template(self.field, document)
        target = render_template(self.target_field, document)
        if not document.has(field):
            if self.ignore_missing:
                return
            raise IllegalArgument(f"field [{field}] doesn't exist")
        if document.has(target) and not self.override:
            raise IllegalArgument(f"field [{target}] already exists")
        value = document.get(field)
        document.remove(field)
        document.set(target, value)
