"""Running one batch of requests through a loaded TorchScript model: tokenize, forward, post-process.

This is the worker's compute step (and the only runtime module that imports torch). Documents of every
request in the batch become rows, rows of similar length share a forward pass, and each document's
output rows go to its task's processor. A request whose input the task refuses fails alone; the others
in the batch are answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inferd.nlp import (
    NlpError,
    NlpTokenizer,
    Row,
    TokenizerOptions,
    bucket_by_length,
    build_tokenizer,
    outputs_per_document,
    pad,
    rows_of,
)
from inferd.nlp.tasks import PROCESSORS, InvalidModelOutput, encode_document
from inferd.runtime.protocol import Failure, InferRequest, RequestOutcome

MODEL_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids")


def load_torchscript(path: Path, map_location: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """TorchScript only: `torch.jit.load` runs no pickled Python."""
    module: torch.jit.ScriptModule = torch.jit.load(str(path), map_location=map_location)  # type: ignore[no-untyped-call]
    module.eval()
    return module


def tokenizer_from(tokenization: Mapping[str, Any], vocabulary: Sequence[str], merges: Sequence[str] | None,
                   scores: Sequence[float] | None) -> NlpTokenizer:
    (kind, settings), = tokenization.items()
    fields = TokenizerOptions.__dataclass_fields__
    return build_tokenizer(kind, vocabulary, merges, scores,
                           TokenizerOptions(**{k: v for k, v in settings.items() if k in fields}))


@dataclass
class _Pending:
    request: InferRequest
    encodings: list[list[Any]]


class ModelRunner:
    """A loaded model with its tokenizer; `run` is safe to call from several allocation threads at once.

    `forward` runs a pass on the model's device (`torch_device.Placement.forward`); the module itself by default."""

    def __init__(self, module: torch.jit.ScriptModule, task_type: str, tokenizer: NlpTokenizer,
                 vocabulary: Sequence[str], max_batch_rows: int, max_batch_tokens: int | None = None,
                 forward: Callable[..., Any] | None = None) -> None:
        self._module = forward or module
        self._task_type = task_type
        self._tokenizer = tokenizer
        self._vocabulary = vocabulary
        self._max_batch_rows = max_batch_rows
        self._max_batch_tokens = max_batch_tokens
        self._accepted_inputs = len(module.forward.schema.arguments) - 1  # type: ignore[attr-defined]  # minus self

    def run(self, requests: Sequence[InferRequest]) -> list[RequestOutcome]:
        outcomes: dict[int, RequestOutcome] = {}
        pending: list[_Pending] = []
        for request in requests:
            try:
                encodings = [encode_document(self._task_type, request.task_options, self._tokenizer, text)
                             for text in request.texts]
            except NlpError as error:
                outcomes[request.request_id] = RequestOutcome(request.request_id, failure=_failure(error))
                continue
            pending.append(_Pending(request, encodings))
        documents = [encodings for item in pending for encodings in item.encodings]
        rows = rows_of(documents)
        try:
            outputs = self._forward(rows, len(documents))
        except Exception as error:  # noqa: BLE001 - a failing model answers every request of the batch
            failure = Failure(500, "status_exception", f"Error in inference process: [{error}]")
            return [outcomes.get(r.request_id) or RequestOutcome(r.request_id, failure=failure) for r in requests]
        first = 0
        processor = PROCESSORS[self._task_type]
        for item in pending:
            request = item.request
            try:
                results = [
                    processor(request.task_options, text, encodings, outputs[first + index],
                              vocabulary=self._vocabulary)
                    for index, (text, encodings) in enumerate(zip(request.texts, item.encodings, strict=True))
                ]
                outcomes[request.request_id] = RequestOutcome(request.request_id, results=results)
            except NlpError as error:
                outcomes[request.request_id] = RequestOutcome(request.request_id, failure=_failure(error))
            first += len(item.encodings)
        return [outcomes[request.request_id] for request in requests]

    def _forward(self, rows: Sequence[Row], documents: int) -> list[list[np.ndarray]]:
        """Output rows per document (numbered across the batch), each document's in its encodings' order."""
        pad_id = self._tokenizer.pad_token_id or 0
        done: list[Row] = []
        values: list[np.ndarray] = []
        for group in bucket_by_length(rows, self._max_batch_rows, self._max_batch_tokens) if rows else []:
            inputs = pad(group, pad_id)
            arguments = [torch.from_numpy(array) for array in inputs.as_tuple()][: self._accepted_inputs]
            with torch.inference_mode():
                output = self._module(*arguments)
            array = _first_tensor(output).numpy()
            token_axis = 0
            if self._task_type == "question_answering":  # [2, rows, tokens] -> rows of [2, tokens]
                array = np.moveaxis(array, 0, 1) if array.ndim == 3 else array
                token_axis = 1
            if array.ndim == 0:
                array = array.reshape(1, 1)
            if array.shape[0] != len(group):
                raise InvalidModelOutput(f"the model returned {array.shape[0]} rows for {len(group)} inputs")
            width = inputs.input_ids.shape[1]
            done.extend(group)
            values.extend(_without_padding(row_values, len(row.encoding), width, token_axis)
                          for row, row_values in zip(group, array, strict=True))
        return outputs_per_document(done, values, documents)


def _without_padding(values: np.ndarray, length: int, width: int, token_axis: int) -> np.ndarray:
    """A row's per-token output cut to its own tokens, so a document's result never depends on its batchmates.

    Only a row with a token axis (at least 2-D, that axis as wide as the padded batch) is cut; pooled rows pass.
    """
    if values.ndim < 2 or length >= width or values.shape[token_axis] != width:
        return values
    return np.take(values, np.arange(length), axis=token_axis)


def _first_tensor(output: Any) -> torch.Tensor:
    """A tuple output's first element is the result, as Elasticsearch's native process takes it."""
    while isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise InvalidModelOutput(f"the model returned [{type(output).__name__}], not a tensor")
    return output.detach().to(torch.float32) if output.dtype != torch.float32 else output.detach()


def _failure(error: NlpError) -> Failure:
    status = 500 if isinstance(error, InvalidModelOutput) else 400
    return Failure(status, "status_exception", str(error))
