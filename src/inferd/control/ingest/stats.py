"""Ingest counters per pipeline and per processor, as Elasticsearch's node ingest stats keep them (in memory: a
restarted server counts from zero, as a restarted node does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counter:
    count: int = 0
    time_ns: int = 0
    current: int = 0
    failed: int = 0

    def render(self) -> dict[str, int]:
        return {"count": self.count, "time_in_millis": self.time_ns // 1_000_000, "current": self.current,
                "failed": self.failed}

    def add(self, other: Counter) -> None:
        self.count += other.count
        self.time_ns += other.time_ns
        self.current += other.current
        self.failed += other.failed


@dataclass
class PipelineCounters:
    total: Counter = field(default_factory=Counter)
    processors: list[tuple[str, str, Counter]] = field(default_factory=list)
    """Each top-level processor's name (its tag, else its type), type and counter, in the pipeline's order."""
    ingested_bytes: int = 0
    produced_bytes: int = 0

    def render(self) -> dict[str, Any]:
        return {**self.total.render(), "ingested_as_first_pipeline_in_bytes": self.ingested_bytes,
                "produced_as_first_pipeline_in_bytes": self.produced_bytes,
                "processors": [{name: {"type": kind, "stats": counter.render()}}
                               for name, kind, counter in self.processors]}


class IngestStats:
    def __init__(self) -> None:
        self._pipelines: dict[str, PipelineCounters] = {}

    def pipeline(self, pipeline_id: str, processors: list[tuple[str, str]]) -> PipelineCounters:
        """The pipeline's counters, reset when its processors changed (a pipeline was replaced)."""
        counters = self._pipelines.get(pipeline_id)
        if counters is None or [(name, kind) for name, kind, _ in counters.processors] != processors:
            counters = PipelineCounters(processors=[(name, kind, Counter()) for name, kind in processors])
            self._pipelines[pipeline_id] = counters
        return counters

    def forget(self, pipeline_id: str) -> None:
        self._pipelines.pop(pipeline_id, None)

    def get(self, pipeline_id: str) -> PipelineCounters | None:
        return self._pipelines.get(pipeline_id)
