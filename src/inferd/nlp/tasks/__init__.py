"""Post-processing of the nine NLP task types into Elasticsearch's ``_infer`` result dicts."""

from inferd.nlp.tasks.base import DEFAULT_RESULTS_FIELD, TaskProcessor
from inferd.nlp.tasks.chunking import CHUNKABLE, chunked_result
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskInput, InvalidTaskOptions
from inferd.nlp.tasks.fill_mask import validate_input as validate_fill_mask_input
from inferd.nlp.tasks.inputs import encode_document, tokenizer_for
from inferd.nlp.tasks.registry import PROCESSORS
from inferd.nlp.tasks.updates import TaskMismatch, apply_update
from inferd.nlp.tasks.zero_shot_classification import hypotheses as zero_shot_hypotheses

__all__ = [
    "CHUNKABLE",
    "DEFAULT_RESULTS_FIELD",
    "PROCESSORS",
    "InvalidModelOutput",
    "InvalidTaskInput",
    "InvalidTaskOptions",
    "TaskMismatch",
    "TaskProcessor",
    "apply_update",
    "chunked_result",
    "encode_document",
    "tokenizer_for",
    "validate_fill_mask_input",
    "zero_shot_hypotheses",
]
