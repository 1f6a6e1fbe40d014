"""`lowercase`: a string field (or every string of a list) in lower case, in place or into `target_field`."""

from __future__ import annotations

from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.processors.base import Common, Config, Processor
from inferd.errors import IllegalArgument


class LowercaseProcessor(Processor):
    def __init__(self, common: Common, field: str, target_field: str, ignore_missing: bool) -> None:
        super().__init__(common)
        self.field = field
        self.target_field = target_field
        self.ignore_missing = ignore_missing

    @classmethod
    def create(cls, common: Common, config: Config) -> LowercaseProcessor:
        field = config.required_string("field")
        return cls(common, field, config.string("target_field", field) or field,
                   config.boolean("ignore_missing", False))

    def apply(self, document: IngestDocument) -> None:
        value = document.get(self.field, None)
        if value is None:
            if self.ignore_missing:
                return
            if document.has(self.field):
                raise IllegalArgument(f"field [{self.field}] is null, cannot process it.")
            raise IllegalArgument(f"field [{self.field}] not present as part of path [{self.field}]")
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise IllegalArgument(f"value [{value}] of field [{self.field}] is not a string")
            document.set(self.target_field, [item.lower() for item in value])
        elif isinstance(value, str):
            document.set(self.target_field, value.lower())
        else:
            raise IllegalArgument(f"field [{self.field}] of type [{type(value).__name__}] cannot be cast to "
                                  "[java.lang.String]")
