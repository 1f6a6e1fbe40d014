"""Trace a local Hugging Face model directory to TorchScript, eland-style, with its config and vocabulary.

`trace_model` loads the model for the task, wraps it behind Elasticsearch's input interface
(`wrappers`), traces it on padded sample text, freezes it, checks that the traced graph agrees with
the eager model on inputs of another shape, and writes three files a later upload reads:
`traced_pytorch_model.pt`, `config.json` (the PUT body) and `vocabulary.json`. With `quantize`, the
linear layers are made dynamically quantized int8 first, as eland's `--quantize` does.
`detect_task` is `--task-type auto`: the task read off the model's config (`task_detection`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from inferd.importer import hf, memory
from inferd.importer.config import PrefixStrings, classification_labels, model_config
from inferd.importer.errors import UnsupportedModel
from inferd.importer.pooling import MODULES_FILE, read_layout
from inferd.importer.task_detection import detect_task_type
from inferd.importer.tasks import TASKS, TaskType, parse_task_type
from inferd.importer.tokenization import TWO_INPUT_KINDS, tokenization_config, tokenizer_kind, vocabulary_payload
from inferd.importer.wrappers import (
    FirstOutput,
    FourInputModel,
    SentenceEmbedding,
    SparseExpansion,
    StackedLogits,
    TwoInputModel,
)

DEFINITION_FILE = "traced_pytorch_model.pt"
CONFIG_FILE = "config.json"
VOCABULARY_FILE = "vocabulary.json"

# Tracing pads to this many tokens at most: long enough to exercise the padding mask, short enough to be quick.
_TRACE_LENGTH = 128
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TracedModel:
    """A traced model on disk, ready to upload: the definition file, the PUT body and the vocabulary body."""

    definition_path: Path
    config: dict[str, Any]
    vocabulary: dict[str, list[Any]]

    @property
    def task_type(self) -> TaskType:
        return TaskType(next(iter(self.config["inference_config"])))

    @property
    def size_bytes(self) -> int:
        return self.definition_path.stat().st_size


def trace_model(
    model_dir: Path,
    task_type: TaskType | str,
    output_dir: Path,
    *,
    max_sequence_length: int | None = None,
    description: str | None = None,
    quantize: bool = False,
    prefix_strings: PrefixStrings | None = None,
) -> TracedModel:
    """Trace `model_dir` for `task_type` into `output_dir` (created if needed) and describe it for upload."""
    task = parse_task_type(task_type)
    model_dir = Path(model_dir)
    with hf.quiet_transformers():  # its advisory log lines also fire while tracing
        loaded = _load(model_dir, task)
        if quantize:
            loaded = dataclasses.replace(loaded, wrapper=quantize_linear_layers(loaded.wrapper))
        tokenization = tokenization_config(
            loaded.tokenizer,
            task,
            max_sequence_length=max_sequence_length,
            max_position_embeddings=getattr(loaded.hf_config, "max_position_embeddings", None),
        )
        sequence_length = int(next(iter(tokenization.values()))["max_sequence_length"])
        texts = _sample_texts(loaded.tokenizer, task)
        example = _encode(loaded.tokenizer, texts, loaded.input_count, pad_to=min(sequence_length, _TRACE_LENGTH))
        check = _encode(loaded.tokenizer, texts[:1], loaded.input_count, pad_to=None)
        traced, sample_output = _trace(loaded.wrapper, example, check)
        vocabulary = vocabulary_payload(loaded.tokenizer)
        config = model_config(
            task,
            tokenization,
            description=description or f"Model {model_dir.name} for task type '{task.value}'",
            per_deployment_memory_bytes=memory.per_deployment_memory_bytes(loaded.wrapper),
            per_allocation_memory_bytes=memory.per_allocation_memory_bytes(
                loaded.wrapper,
                input_count=loaded.input_count,
                sequence_length=sequence_length,
                vocabulary_size=len(vocabulary["vocabulary"]),
            ),
            labels=classification_labels(loaded.hf_config.id2label, task),
            embedding_size=int(sample_output.shape[-1]) if task is TaskType.TEXT_EMBEDDING else None,
            prefix_strings=prefix_strings,
        )
    return save_traced_model(traced, config, vocabulary, Path(output_dir))


def detect_task(model_dir: Path, model_name: str) -> TaskType:
    """`--task-type auto`: the task the model's config implies, by eland's rules (`model_name` as the user gave it)."""
    model_dir = Path(model_dir)
    sentence_transformers = (model_dir / MODULES_FILE).is_file()
    encoder_dir = read_layout(model_dir).transformer_dir if sentence_transformers else model_dir
    return detect_task_type(hf.load_config(encoder_dir), model_name, sentence_transformers_layout=sentence_transformers)


def quantize_linear_layers(module: nn.Module) -> nn.Module:
    """eland's `--quantize`: every `nn.Linear` becomes a dynamically quantized int8 one (weights stored as int8,
    activations quantized per call); smaller and faster on CPU, at some cost in accuracy."""
    with warnings.catch_warnings():
        # torch announces the eager-mode quantization API's move to torchao; it still works as eland uses it.
        warnings.filterwarnings("ignore", message=r".*quantiz", category=DeprecationWarning)
        quantized: nn.Module = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            module, {nn.Linear}, dtype=torch.qint8)
        return quantized


def save_traced_model(
    module: torch.jit.ScriptModule, config: dict[str, Any], vocabulary: dict[str, list[Any]], output_dir: Path
) -> TracedModel:
    """Write the three files of a traced model (also used for hand-written TorchScript test models)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    definition_path = output_dir / DEFINITION_FILE
    torch.jit.save(module, str(definition_path))
    (output_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    (output_dir / VOCABULARY_FILE).write_text(json.dumps(vocabulary))
    _log.info("saved traced model %s (%d bytes)", definition_path, definition_path.stat().st_size)
    return TracedModel(definition_path, config, vocabulary)


def load_traced_model(output_dir: Path) -> TracedModel:
    """Read back what `save_traced_model` wrote."""
    output_dir = Path(output_dir)
    return TracedModel(
        output_dir / DEFINITION_FILE,
        json.loads((output_dir / CONFIG_FILE).read_text()),
        json.loads((output_dir / VOCABULARY_FILE).read_text()),
    )


@dataclass(frozen=True)
class _Loaded:
    """A model wrapped for tracing, with what describing it needs."""

    wrapper: nn.Module
    tokenizer: Any
    input_count: int
    hf_config: Any


def _load(model_dir: Path, task: TaskType) -> _Loaded:
    """Load tokenizer and model for the task and wrap them behind the interface their tokenizer implies."""
    layout = read_layout(model_dir) if task is TaskType.TEXT_EMBEDDING else None
    encoder_dir = layout.transformer_dir if layout else model_dir
    tokenizer = hf.load_tokenizer(encoder_dir)
    kind = tokenizer_kind(tokenizer)
    hf_model = hf.load_model(encoder_dir, TASKS[task].auto_class)
    if task in (TaskType.TEXT_EMBEDDING, TaskType.PASS_THROUGH) and getattr(hf_model, "pooler", None) is not None:
        hf_model.pooler = None  # its output is never read; dropping it saves weights and time (eland does too)
    head = _task_head(task, layout.layers if layout else ())
    if kind in TWO_INPUT_KINDS:
        return _Loaded(TwoInputModel(hf_model, head).eval(), tokenizer, 2, hf_model.config)
    return _Loaded(FourInputModel(hf_model, head).eval(), tokenizer, 4, hf_model.config)


def _task_head(task: TaskType, embedding_layers: tuple[nn.Module, ...]) -> nn.Module:
    if task is TaskType.TEXT_EMBEDDING:
        return SentenceEmbedding(embedding_layers)
    if task is TaskType.QUESTION_ANSWERING:
        return StackedLogits()
    if task is TaskType.TEXT_EXPANSION:
        return SparseExpansion()
    return FirstOutput()


def _sample_texts(tokenizer: Any, task: TaskType) -> list[tuple[str, ...]]:
    """Two samples of different lengths, so the traced batch holds padding; `{mask}` becomes the mask token."""
    mask_token = getattr(tokenizer, "mask_token", None)
    if task is TaskType.FILL_MASK and not mask_token:
        raise UnsupportedModel("A fill_mask model needs a tokenizer with a mask token")
    sample = tuple(text.replace("{mask}", str(mask_token)) for text in TASKS[task].sample)
    short = ("Hello.", "Hi.")[: len(sample)]
    return [sample, short]


def _encode(
    tokenizer: Any, texts: list[tuple[str, ...]], input_count: int, *, pad_to: int | None
) -> tuple[Tensor, ...]:
    """Tokenize to the model's positional inputs; positions count from 0 as Elasticsearch sends them."""
    columns = list(zip(*texts, strict=True))
    encoded = tokenizer(
        *[list(column) for column in columns],
        padding="max_length" if pad_to else True,
        max_length=pad_to,
        truncation=bool(pad_to),
        return_tensors="pt",
    )
    input_ids: Tensor = encoded["input_ids"]
    attention_mask: Tensor = encoded["attention_mask"]
    if input_count == 2:
        return input_ids, attention_mask
    token_type_ids = encoded.get("token_type_ids", torch.zeros_like(input_ids))
    position_ids = torch.arange(input_ids.shape[1]).unsqueeze(0).expand_as(input_ids).contiguous()
    return input_ids, attention_mask, token_type_ids, position_ids


def _trace(
    wrapper: nn.Module, example: tuple[Tensor, ...], check: tuple[Tensor, ...]
) -> tuple[torch.jit.ScriptModule, Tensor]:
    """Trace and freeze, then prove the graph generalises: it must match eager on another batch and length.

    Returns the frozen module and the eager output on the check input (its shape sizes embeddings).
    """
    with torch.no_grad(), warnings.catch_warnings():
        # Expected while tracing transformers: TorchScript's own deprecation notices, shape-to-bool
        # conversions in its masking code (constant for encoders), and its FutureWarnings.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # type: ignore[attr-defined]
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\b")
        traced = torch.jit.freeze(torch.jit.trace(wrapper, example, check_trace=False))  # type: ignore[no-untyped-call]
        expected = wrapper(*check)
        actual = traced(*check)
    if expected.shape != actual.shape or not torch.allclose(expected, actual, rtol=1e-4, atol=1e-4):
        raise UnsupportedModel("The traced graph disagrees with the model on another input shape; it cannot be traced")
    return traced, expected
