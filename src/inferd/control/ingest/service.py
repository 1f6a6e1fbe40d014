"""Ingest pipelines: stored, run (`_simulate`, and inferd's enrich), counted, and found by the models they use.

    IngestPipelines ── put, get, delete, simulate, run
      ├─ Pipeline          a definition built and run (`pipeline.py`)
      ├─ IngestStats       counters per pipeline and processor (`stats.py`)
      └─ PipelineStore     the definitions, kept across restarts
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from inferd.clock import Clock
from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.pipeline import Outcome, Pipeline
from inferd.control.ingest.processors import Inference, InferenceProcessor
from inferd.control.ingest.stats import Counter, IngestStats
from inferd.errors import ElasticsearchParseError, IllegalArgument, ResourceNotFound
from inferd.store import PipelineStore

SIMULATED_PIPELINE = "_simulate_pipeline"


def ingest_timestamp(now_ms: int) -> str:
    """`_ingest.timestamp` as Elasticsearch writes it (ISO 8601, milliseconds... in UTC)."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class IngestPipelines:
    def __init__(self, store: PipelineStore, clock: Clock, max_pipelines: int = 10_000) -> None:
        self._store = store
        self._clock = clock
        self._max_pipelines = max_pipelines
        self._pipelines: dict[str, Pipeline] = {}
        self.stats = IngestStats()

    async def load(self) -> None:
        """Build every stored pipeline (at start-up); one that no longer builds is left out, and said so."""
        for record in await asyncio.to_thread(self._store.list):
            self._pipelines[record.pipeline_id] = Pipeline.build(record.pipeline_id, record.definition)

    # --- definitions ---------------------------------------------------------------------------

    async def put(self, pipeline_id: str, definition: Any, if_version: int | None = None) -> None:
        if not pipeline_id:
            raise IllegalArgument("pipeline id must not be empty")
        pipeline = Pipeline.build(pipeline_id, definition)
        current = self._pipelines.get(pipeline_id)
        if if_version is not None:
            version = current.definition.get("version") if current is not None else None
            if version != if_version:
                raise IllegalArgument(f"version conflict, required version [{if_version}] for pipeline "
                                      f"[{pipeline_id}] but current version is [{version}]")
        if current is None and len(self._pipelines) >= self._max_pipelines:
            raise IllegalArgument(f"cannot store more than [{self._max_pipelines}] pipelines (max_pipelines)")
        await asyncio.to_thread(self._store.save, pipeline_id, definition, self._clock.now_ms())
        self._pipelines[pipeline_id] = pipeline

    def get(self, expression: str | None) -> dict[str, dict[str, Any]]:
        """The definitions the ids or wildcards name (all without one); empty when none matches."""
        return {pipeline_id: pipeline.definition for pipeline_id, pipeline in sorted(self._pipelines.items())
                if expression is None or _matches(pipeline_id, expression)}

    def pipeline(self, pipeline_id: str) -> Pipeline:
        found = self._pipelines.get(pipeline_id)
        if found is None:
            raise ResourceNotFound(f"pipeline with id [{pipeline_id}] does not exist")
        return found

    async def delete(self, expression: str) -> None:
        matched = [pipeline_id for pipeline_id in self._pipelines if _matches(pipeline_id, expression)]
        if not matched:
            raise ResourceNotFound(f"pipeline [{expression}] is missing")
        await asyncio.to_thread(self._store.delete, *matched)
        for pipeline_id in matched:
            del self._pipelines[pipeline_id]
            self.stats.forget(pipeline_id)

    # --- running -------------------------------------------------------------------------------

    def documents(self, sources: Sequence[dict[str, Any]], pipeline_id: str | None) -> list[IngestDocument]:
        timestamp = ingest_timestamp(self._clock.now_ms())
        ingest: dict[str, Any] = {"timestamp": timestamp}
        if pipeline_id is not None:
            ingest = {"pipeline": pipeline_id, **ingest}
        return [IngestDocument(source, {}, dict(ingest)) for source in sources]

    async def simulate(self, pipeline: Pipeline, documents: Sequence[IngestDocument], inference: Inference, *,
                       verbose: bool) -> list[Outcome]:
        """`_simulate`: the pipeline run over the documents; counted only when it is a stored pipeline."""
        return await pipeline.run(documents, inference, verbose=verbose)

    async def run(self, pipeline_id: str, sources: Sequence[dict[str, Any]], inference: Inference) -> list[Outcome]:
        """Run a stored pipeline over documents (enrich), counted in its ingest stats."""
        pipeline = self.pipeline(pipeline_id)
        counters = self.stats.pipeline(pipeline_id, pipeline.processor_names)
        documents = self.documents(sources, pipeline_id)
        return await pipeline.run(documents, inference, counters=counters)

    # --- what models see of them ---------------------------------------------------------------

    def pipelines_using(self, names: Iterable[str]) -> list[str]:
        """The pipelines whose inference processors name any of `names` (model ids, aliases, deployments)."""
        wanted = set(names)
        return [pipeline_id for pipeline_id, pipeline in sorted(self._pipelines.items())
                if pipeline.model_ids() & wanted]

    def model_ingest(self, names: Iterable[str]) -> tuple[int, dict[str, Any]]:
        """A model's `pipeline_count` and `ingest` stats (Elasticsearch's `_stats`): the pipelines that use it, and
        its inference processors' counters in them."""
        wanted = set(names)
        pipelines: dict[str, Any] = {}
        total = Counter()
        using = self.pipelines_using(wanted)
        for pipeline_id in using:
            pipeline = self._pipelines[pipeline_id]
            counters = self.stats.get(pipeline_id)
            processors = []
            for position, processor in enumerate(pipeline.processors):
                if not (isinstance(processor, InferenceProcessor) and processor.model_id in wanted):
                    continue
                counter = counters.processors[position][2] if counters is not None else Counter()
                total.add(counter)
                name = processor.common.tag or processor.type
                processors.append({name: {"type": processor.type, "stats": counter.render()}})
            rendered = counters.render() if counters is not None else {
                **Counter().render(), "ingested_as_first_pipeline_in_bytes": 0,
                "produced_as_first_pipeline_in_bytes": 0}
            pipelines[pipeline_id] = {**rendered, "processors": processors}
        return len(using), {"total": total.render(), "pipelines": pipelines}


def _matches(pipeline_id: str, expression: str) -> bool:
    return any(part in ("*", "_all") or fnmatch.fnmatchcase(pipeline_id, part) for part in expression.split(","))


def check_documents(body: Any) -> list[dict[str, Any]]:
    """`_simulate`'s `docs`, as Elasticsearch's parser reads them."""
    docs = body.get("docs")
    if docs is None:
        raise ElasticsearchParseError("[docs] required property is missing", metadata={"property_name": "docs"})
    if not isinstance(docs, list) or not all(isinstance(doc, dict) for doc in docs):
        raise ElasticsearchParseError("[docs] property isn't a list of objects", metadata={"property_name": "docs"})
    for doc in docs:
        if not isinstance(doc.get("_source"), dict):
            raise ElasticsearchParseError("[_source] required property is missing",
                                          metadata={"property_name": "_source"})
    return docs
