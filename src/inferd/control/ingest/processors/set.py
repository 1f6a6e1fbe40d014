"""`set`: a field to a value (mustache rendered) or another field's value (`copy_from`)."""

from __future__ import annotations

import copy
from typing import Any

from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.processors.base import Common, Config, Processor
from inferd.control.ingest.templates import render_template, render_value


class SetProcessor(Processor):
    def __init__(self, common: Common, field: str, value: Any, copy_from: str | None, override: bool,
                 ignore_empty_value: bool) -> None:
        super().__init__(common)
        self.field = field
        self.value = value
        self.copy_from = copy_from
        self.override = override
        self.ignore_empty_value = ignore_empty_value

    @classmethod
    def create(cls, common: Common, config: Config) -> SetProcessor:
        field = config.required_string("field")
        copy_from = config.string("copy_from")
        value = config.value("value")
        if copy_from is not None and value is not None:
            raise config.error("copy_from", "[copy_from] cannot set both `copy_from` and `value` in the same processor")
        if copy_from is None and value is None:
            raise config.error("value", "[value] required property is missing")
        return cls(common, field, value, copy_from, config.boolean("override", True),
                   config.boolean("ignore_empty_value", False))

    def apply(self, document: IngestDocument) -> None:
        field = render_template(self.field, document)
        if not self.override and document.get(field, None) is not None:
            return
        value = copy.deepcopy(document.get(self.copy_from)) if self.copy_from else render_value(self.value, document)
        if self.ignore_empty_value and (value is None or value == ""):
            return
        document.set(field, value)
