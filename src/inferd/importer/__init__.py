"""Import Hugging Face models into inferd, as eland does into Elasticsearch: trace, describe, upload.

`transformers` (the `import` extra) is imported only when a model is traced, and torch only when
a name that needs it is first used (PEP 562 `__getattr__` below): the `inferd` command, the server
included, starts without loading either.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from inferd.importer.config import classification_labels, model_config
from inferd.importer.errors import ModelExists, ModelImportError, TransformersMissing, UnsupportedModel
from inferd.importer.tasks import TASKS, TaskSpec, TaskType, parse_task_type
from inferd.importer.tokenization import TokenizerKind, tokenization_config, tokenizer_kind, vocabulary_payload
from inferd.importer.upload import (
    DEFAULT_CHUNK_SIZE,
    DefinitionPart,
    clear_model,
    connect,
    count_parts,
    iter_definition_parts,
    model_exists,
    put_config,
    put_definition,
    put_vocabulary,
    upload_model,
)

# Names whose modules import torch, loaded on first use.
_LAZY = {
    "import_transformers": "inferd.importer.hf",
    "transformers_available": "inferd.importer.hf",
    "TracedModel": "inferd.importer.tracing",
    "load_traced_model": "inferd.importer.tracing",
    "save_traced_model": "inferd.importer.tracing",
    "trace_model": "inferd.importer.tracing",
}

if TYPE_CHECKING:
    from inferd.importer.hf import import_transformers, transformers_available
    from inferd.importer.tracing import TracedModel, load_traced_model, save_traced_model, trace_model


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "TASKS",
    "DefinitionPart",
    "ModelExists",
    "ModelImportError",
    "TaskSpec",
    "TaskType",
    "TokenizerKind",
    "TracedModel",
    "TransformersMissing",
    "UnsupportedModel",
    "classification_labels",
    "clear_model",
    "connect",
    "count_parts",
    "import_transformers",
    "iter_definition_parts",
    "load_traced_model",
    "model_config",
    "model_exists",
    "parse_task_type",
    "put_config",
    "put_definition",
    "put_vocabulary",
    "save_traced_model",
    "tokenization_config",
    "tokenizer_kind",
    "vocabulary_payload",
    "trace_model",
    "transformers_available",
    "upload_model",
]
