"""inferd's whole NLP path for tests, in process: tokenizer -> batch -> traced model -> task processor.

The runtime's workers do the same in their processes; tests use this to compare inferd's results with
independent references (transformers pipelines) on the same tiny models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from inferd.nlp import TokenizerOptions, build_tokenizer, outputs_per_document, pad, rows_of
from inferd.nlp.tasks import PROCESSORS, apply_update, encode_document
from tests.support.models import TestModel


def infer(model: TestModel, texts: Sequence[str], update: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    (task, stored), = model.config["inference_config"].items()
    options = apply_update("test-model", task, stored, update)
    (kind, settings), = options["tokenization"].items()
    vocabulary = model.vocabulary["vocabulary"]
    tokenizer = build_tokenizer(
        kind, vocabulary, model.vocabulary.get("merges"), model.vocabulary.get("scores"),
        TokenizerOptions(**{k: v for k, v in settings.items() if k in TokenizerOptions.__dataclass_fields__}),
    )
    documents = [encode_document(task, options, tokenizer, text) for text in texts]
    rows = rows_of(documents)
    inputs = pad(rows, tokenizer.pad_token_id or 0)
    traced = torch.jit.load(str(model.definition_path))
    arguments = [torch.from_numpy(array) for array in inputs.as_tuple()]
    accepted = len(traced.forward.schema.arguments) - 1  # minus self
    with torch.inference_mode():
        output = traced(*arguments[:accepted])
    output = output[0] if isinstance(output, tuple) else output
    array = output.numpy()
    if task == "question_answering":  # [2, rows, tokens] -> rows of [2, tokens]
        array = np.moveaxis(array, 0, 1)
    per_document = outputs_per_document(rows, array, len(texts))
    return [
        PROCESSORS[task](options, text, encodings, outputs, vocabulary=vocabulary)
        for text, encodings, outputs in zip(texts, documents, per_document, strict=True)
    ]
