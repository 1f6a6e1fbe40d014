"""The post-processor of each Elasticsearch NLP task type, keyed by its ``inference_config`` name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from inferd.nlp.tasks import (
    fill_mask,
    ner,
    pass_through,
    question_answering,
    text_classification,
    text_embedding,
    text_expansion,
    text_similarity,
    zero_shot_classification,
)
from inferd.nlp.tasks.base import TaskProcessor

PROCESSORS: Mapping[str, TaskProcessor] = MappingProxyType(
    {
        "fill_mask": fill_mask.process,
        "ner": ner.process,
        "pass_through": pass_through.process,
        "question_answering": question_answering.process,
        "text_classification": text_classification.process,
        "text_embedding": text_embedding.process,
        "text_expansion": text_expansion.process,
        "text_similarity": text_similarity.process,
        "zero_shot_classification": zero_shot_classification.process,
    }
)
