"""`inference`: a deployed model's results written into each document (Elasticsearch's `InferenceProcessor`).

`model_id` names a deployment, a model or an alias (as `_infer` resolves them) or an inference endpoint. The
model reads its input field from the document, renamed by `field_map`; its results go under `target_field`
(default `ml.inference`) with the `model_id`, or, with `input_output`, each `input_field`'s result straight into
its `output_field`. An inference endpoint with chunking settings writes one result per chunk
(`[{"text", "embeddings"}]`), as Elasticsearch's `semantic_text` stores them. The batch's documents go to the
model as one `_infer`; if that fails, each document is tried alone so that a failure stays its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.processors.base import Common, Config, Inference, Processor
from inferd.errors import IllegalArgument
from inferd.nlp.tasks.updates import UPDATABLE

DEFAULT_TARGET_FIELD = "ml.inference"
RESULTS_FIELD = "predicted_value"


@dataclass(frozen=True)
class InputOutput:
    input_field: str
    output_field: str


@dataclass(frozen=True)
class _Job:
    """One text to infer: its document's index, the text, and where its result goes (None: under target_field)."""

    document: int
    text: str
    output_field: str | None


class InferenceProcessor(Processor):
    def __init__(self, common: Common, model_id: str, target_field: str, field_map: dict[str, str],
                 inference_config: dict[str, Any] | None, input_output: list[InputOutput], ignore_missing: bool,
                 ) -> None:
        super().__init__(common)
        self.model_id = model_id
        self.target_field = target_field
        self.field_map = field_map
        self.inference_config = inference_config
        self.input_output = input_output
        self.ignore_missing = ignore_missing
        self.results_field = RESULTS_FIELD
        if inference_config:
            options = next(iter(inference_config.values())) or {}
            self.results_field = options.get("results_field", RESULTS_FIELD)

    @classmethod
    def create(cls, common: Common, config: Config) -> InferenceProcessor:
        model_id = config.required_string("model_id")
        target_field = config.string("target_field")
        field_map = config.mapping("field_map") or config.mapping("field_mappings") or {}
        inference_config = config.mapping("inference_config")
        if inference_config is not None:
            if len(inference_config) != 1 or next(iter(inference_config)) not in UPDATABLE:
                raise config.error("inference_config", "[inference_config] must hold exactly one task of "
                                   f"[{', '.join(sorted(UPDATABLE))}]")
            if not isinstance(next(iter(inference_config.values())), dict | None):
                raise config.error("inference_config", "[inference_config] a task's options are an object")
        pairs = config.value("input_output")
        input_output: list[InputOutput] = []
        if pairs is not None:
            if target_field is not None:
                raise config.error("target_field", "[target_field] option is incompatible with [input_output]. Use "
                                   "the [output_field] option to specify where to write the inference results to.")
            if field_map:
                raise config.error("field_map", "[field_map] option is incompatible with [input_output]. Use the "
                                   "[input_field] option to specify the field to read.")
            for pair in pairs if isinstance(pairs, list) else [pairs]:
                if not isinstance(pair, dict) or not isinstance(pair.get("input_field"), str):
                    raise config.error("input_output", "[input_output] each entry needs an [input_field]")
                unknown = set(pair) - {"input_field", "output_field"}
                if unknown:
                    raise config.error("input_output", f"[input_output] unknown field [{sorted(unknown)[0]}]")
                output = pair.get("output_field") or DEFAULT_TARGET_FIELD
                input_output.append(InputOutput(pair["input_field"], str(output)))
            if not input_output:
                raise config.error("input_output", "[input_output] cannot be empty")
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in field_map.items()):
            raise config.error("field_map", "[field_map] maps field names to field names")
        return cls(common, model_id, target_field or DEFAULT_TARGET_FIELD, field_map, inference_config,
                   input_output, config.boolean("ignore_missing", False))

    def _jobs(self, index: int, document: IngestDocument, input_field: str) -> list[_Job]:
        """The texts a document gives the model (none when its input is missing and that is allowed)."""
        if self.input_output:
            pairs = [(pair.input_field, pair.output_field) for pair in self.input_output]
        else:
            source = next((field for field, mapped in self.field_map.items() if mapped == input_field), input_field)
            pairs = [(source, None)]  # type: ignore[list-item]
        jobs = []
        for field, output in pairs:
            value = document.get(field, None)
            if value is None:
                if self.ignore_missing:
                    continue
                raise IllegalArgument(f"Input field [{field}] does not exist in the source document")
            if not isinstance(value, str):
                raise IllegalArgument(f"Input field [{field}] must be a string; found [{type(value).__name__}]")
            jobs.append(_Job(index, value, output))
        return jobs

    def _write(self, document: IngestDocument, job: _Job, result: Any) -> None:
        if job.output_field is not None:
            document.set(job.output_field, result[self.results_field] if isinstance(result, dict) else result)
            return
        if isinstance(result, dict):
            for name, value in result.items():
                document.set(f"{self.target_field}.{name}", value)
        else:
            document.set(f"{self.target_field}.{self.results_field}", result)
        document.set(f"{self.target_field}.model_id", self.model_id)

    async def run(self, documents: Sequence[IngestDocument], inference: Inference) -> list[Exception | None]:
        failures: list[Exception | None] = [None] * len(documents)
        chunking = inference.is_endpoint(self.model_id)
        input_field = "text_field" if chunking else await inference.input_field(self.model_id)
        jobs: list[_Job] = []
        for index, document in enumerate(documents):
            try:
                jobs += self._jobs(index, document, input_field)
            except Exception as error:  # noqa: BLE001 - the document's own failure
                failures[index] = error
        if chunking:
            for job in jobs:
                if failures[job.document] is None:
                    try:
                        chunks = await inference.chunked(self.model_id, job.text)
                        self._write(documents[job.document], job, {self.results_field: chunks})
                    except Exception as error:  # noqa: BLE001
                        failures[job.document] = error
            return failures
        jobs = [job for job in jobs if failures[job.document] is None]
        try:
            results = await inference.infer_texts(self.model_id, [job.text for job in jobs], self.inference_config)
        except Exception as error:  # noqa: BLE001 - one document may have failed them all: try each alone
            if len({job.document for job in jobs}) <= 1:
                for job in jobs:
                    failures[job.document] = error
                return failures
            return await self._one_by_one(documents, jobs, inference, failures)
        for job, result in zip(jobs, results, strict=True):
            self._write(documents[job.document], job, result)
        return failures

    async def _one_by_one(self, documents: Sequence[IngestDocument], jobs: list[_Job], inference: Inference,
                          failures: list[Exception | None]) -> list[Exception | None]:
        for index in sorted({job.document for job in jobs}):
            own = [job for job in jobs if job.document == index]
            try:
                results = await inference.infer_texts(self.model_id, [job.text for job in own], self.inference_config)
            except Exception as error:  # noqa: BLE001
                failures[index] = error
                continue
            for job, result in zip(own, results, strict=True):
                self._write(documents[index], job, result)
        return failures
