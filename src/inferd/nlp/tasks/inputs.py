"""What each task feeds the model for one document (Elasticsearch's per-task request builders).

Most tasks encode the text alone. Zero-shot pairs the text with one hypothesis per label; question
answering pairs the question with the text (spans run over the text); text similarity pairs the
configured `text` with the document; fill-mask first checks the document holds exactly one mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inferd.nlp.tasks.errors import InvalidTaskOptions
from inferd.nlp.tasks.fill_mask import validate_input as validate_fill_mask_input
from inferd.nlp.tasks.zero_shot_classification import hypotheses
from inferd.nlp.tokenizers import NO_SPAN, Encoding, NlpTokenizer


def tokenizer_for(tokenizer: NlpTokenizer, task_options: Mapping[str, Any]) -> NlpTokenizer:
    """The model's tokenizer with the request's `truncate` and `span` applied."""
    tokenization = task_options.get("tokenization") or {}
    settings: Mapping[str, Any] = next(iter(tokenization.values()), {}) if tokenization else {}
    return tokenizer.with_options(truncate=settings.get("truncate"), span=settings.get("span"))


POSITIONAL_TASKS = frozenset({"fill_mask", "ner", "question_answering"})
"""The tasks whose results point into the text (token strings, offsets); the others read only the model's output,
so their documents are encoded without positions (`NlpTokenizer.pieces`)."""


def encode_document(
    task_type: str, task_options: Mapping[str, Any], tokenizer: NlpTokenizer, text: str
) -> list[Encoding]:
    """The encodings of one document for `task_type`, in the order the task's processor expects."""
    tokenizer = tokenizer_for(tokenizer, task_options)
    positions = task_type in POSITIONAL_TASKS
    if task_type == "zero_shot_classification":  # never windowed: one pair per label, truncated as needed
        tokenizer = tokenizer.with_options(span=NO_SPAN)
        return [encoding for hypothesis in hypotheses(task_options)
                for encoding in tokenizer.encode_pair(text, hypothesis, positions=positions)]
    if task_type == "question_answering":
        return tokenizer.encode_pair(_required(task_options, "question", task_type), text, positions=positions)
    if task_type == "text_similarity":
        return tokenizer.encode_pair(_required(task_options, "text", task_type), text, positions=positions)
    if task_type == "fill_mask":
        validate_fill_mask_input(task_options, text)
    return tokenizer.encode(text, positions=positions)


def _required(task_options: Mapping[str, Any], name: str, task_type: str) -> str:
    value = task_options.get(name)
    if not value:
        raise InvalidTaskOptions(f"{task_type} requires [{name}] in the inference_config of the request")
    return str(value)

