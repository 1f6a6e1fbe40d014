"""`script`: refused when the pipeline is stored. inferd runs no Painless; the refusal says what to use instead."""

from __future__ import annotations

from inferd.control.ingest.processors.base import Common, Config, Processor


class ScriptProcessor(Processor):
    @classmethod
    def create(cls, common: Common, config: Config) -> ScriptProcessor:
        raise config.error(None, "the [script] processor is not supported: inferd runs no scripts. Use [set], "
                                 "[remove], [rename] and [lowercase], and [if] with a simple condition")
