"""A pipeline: its processors and `on_failure`, built from a definition with Elasticsearch's checks, and run over a
batch of documents, each document's failures its own (`CompoundProcessor`'s rules: a processor's `if`,
`ignore_failure` and `on_failure`, then the pipeline's `on_failure`), optionally traced processor by processor
(`_simulate?verbose`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.processors import Inference, Processor, build_processors
from inferd.control.ingest.stats import Counter, PipelineCounters
from inferd.errors import ElasticsearchParseError, InferdError

PIPELINE_FIELDS = ("description", "processors", "on_failure", "version", "_meta", "deprecated")


@dataclass
class Trace:
    """One processor's outcome for one document (a `processor_results` entry of `_simulate?verbose`)."""

    processor_type: str
    status: str
    tag: str | None = None
    description: str | None = None
    condition: tuple[str, bool] | None = None
    document: dict[str, Any] | None = None
    error: Exception | None = None


@dataclass
class Outcome:
    """What happened to one document: its failure, if it failed, and the trace when asked for."""

    document: IngestDocument
    failure: Exception | None = None
    traces: list[Trace] = field(default_factory=list)


@dataclass(frozen=True)
class Pipeline:
    pipeline_id: str
    processors: list[Processor]
    on_failure: list[Processor]
    definition: dict[str, Any]

    @classmethod
    def build(cls, pipeline_id: str, definition: Any) -> Pipeline:
        if not isinstance(definition, dict):
            raise ElasticsearchParseError("[pipeline] must be an object")
        unknown = [name for name in definition if name not in PIPELINE_FIELDS]
        if unknown:
            raise ElasticsearchParseError(f"pipeline [{pipeline_id}] doesn't support one or more provided "
                                          f"configuration parameters {unknown}")
        if "processors" not in definition:
            raise ElasticsearchParseError("[processors] required property is missing",
                                          metadata={"property_name": "processors"})
        processors = build_processors(definition["processors"], "processors")
        on_failure = build_processors(definition.get("on_failure") or [], "on_failure")
        if definition.get("on_failure") is not None and not on_failure:
            raise ElasticsearchParseError("pipeline [" + pipeline_id + "] cannot have an empty on_failure option "
                                          "defined")
        version = definition.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ElasticsearchParseError("[version] property isn't a number", metadata={"property_name": "version"})
        return cls(pipeline_id, processors, on_failure, definition)

    @property
    def processor_names(self) -> list[tuple[str, str]]:
        return [(processor.common.tag or processor.type, processor.type) for processor in self.processors]

    def model_ids(self) -> set[str]:
        """The models (or deployments, aliases, endpoints) its inference processors name, on_failure included."""
        found: set[str] = set()
        pending = [*self.processors, *self.on_failure]
        while pending:
            processor = pending.pop()
            pending += processor.common.on_failure
            model_id = getattr(processor, "model_id", None)
            if isinstance(model_id, str):
                found.add(model_id)
        return found

    async def run(self, documents: Sequence[IngestDocument], inference: Inference, *, verbose: bool = False,
                  counters: PipelineCounters | None = None) -> list[Outcome]:
        outcomes = [Outcome(document) for document in documents]
        started = time.monotonic_ns()
        if counters is not None:
            counters.total.current += len(documents)
        try:
            await _run_list(self.processors, outcomes, inference, verbose, counters)
            for outcome in outcomes:
                if outcome.failure is not None and self.on_failure:
                    failure = outcome.failure
                    outcome.failure = None
                    _failure_metadata(outcome.document, failure, self.pipeline_id)
                    await _run_list(self.on_failure, [outcome], inference, verbose, None)
        finally:
            if counters is not None:
                counters.total.current -= len(documents)
                counters.total.count += len(documents)
                counters.total.time_ns += time.monotonic_ns() - started
                counters.total.failed += sum(outcome.failure is not None for outcome in outcomes)
        return outcomes


def _failure_metadata(document: IngestDocument, failure: Exception, pipeline_id: str,
                      processor: Processor | None = None) -> None:
    document.ingest["on_failure_message"] = str(failure.reason if isinstance(failure, InferdError) else failure)
    if processor is not None:
        document.ingest["on_failure_processor_type"] = processor.type
        if processor.common.tag is not None:
            document.ingest["on_failure_processor_tag"] = processor.common.tag
    document.ingest["on_failure_pipeline"] = pipeline_id


async def _run_list(processors: Sequence[Processor], outcomes: list[Outcome], inference: Inference, verbose: bool,
                    counters: PipelineCounters | None) -> None:
    """Each processor in turn over the documents that have not failed."""
    for position, processor in enumerate(processors):
        counter = counters.processors[position][2] if counters is not None else None
        await _run_one(processor, [outcome for outcome in outcomes if outcome.failure is None], inference, verbose,
                       counter)


async def _run_one(processor: Processor, outcomes: list[Outcome], inference: Inference, verbose: bool,
                   counter: Counter | None) -> None:
    common = processor.common
    applying: list[Outcome] = []
    for outcome in outcomes:
        try:
            applies = common.applies(outcome.document)
        except Exception as error:  # noqa: BLE001 - a condition that fails is the processor's failure
            await _failed(processor, outcome, error, inference, verbose)
            continue
        if applies:
            applying.append(outcome)
        elif verbose:
            assert common.condition_text is not None
            outcome.traces.append(Trace(processor.type, "skipped", common.tag, common.description,
                                        (common.condition_text, False)))
    if not applying:
        return
    started = time.monotonic_ns()
    if counter is not None:
        counter.current += len(applying)
    try:
        failures = await processor.run([outcome.document for outcome in applying], inference)
    finally:
        if counter is not None:
            counter.current -= len(applying)
            counter.count += len(applying)
            counter.time_ns += time.monotonic_ns() - started
    for outcome, failure in zip(applying, failures, strict=True):
        if failure is None:
            if verbose:
                outcome.traces.append(_trace(processor, "success", outcome.document))
            continue
        if counter is not None:
            counter.failed += 1
        await _failed(processor, outcome, failure, inference, verbose)


def _trace(processor: Processor, status: str, document: IngestDocument, error: Exception | None = None) -> Trace:
    common = processor.common
    condition = (common.condition_text, True) if common.condition_text is not None else None
    return Trace(processor.type, status, common.tag, common.description, condition,
                 document.snapshot().render(), error)


async def _failed(processor: Processor, outcome: Outcome, failure: Exception, inference: Inference,
                  verbose: bool) -> None:
    """A processor failed on a document: ignored, handled by its `on_failure`, or the document's failure."""
    common = processor.common
    if common.ignore_failure:
        if verbose:
            outcome.traces.append(_trace(processor, "error_ignored", outcome.document, failure))
        return
    if verbose:
        outcome.traces.append(Trace(processor.type, "error", common.tag, common.description,
                                    (common.condition_text, True) if common.condition_text else None, None, failure))
    if not common.on_failure:
        outcome.failure = failure
        return
    _failure_metadata(outcome.document, failure, outcome.document.ingest.get("pipeline", ""), processor)
    await _run_list(common.on_failure, [outcome], inference, verbose, None)
