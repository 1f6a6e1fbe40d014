"""Import Hugging Face models into inferd, as eland does into Elasticsearch: trace, describe, upload.

`transformers` (the `import` extra) is imported only when a model is traced, and torch only when
a name that needs it is first used (PEP 562 `__getattr__` below): the `inferd` command, the server
included, starts without loading either.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from inferd.importer.config import PrefixStrings, classification_labels, model_config
from inferd.importer.errors import (
    ModelExists,
    ModelImportError,
    ModelNotFound,
    TransformersMissing,
    UnknownTaskType,
    UnsupportedModel,
)
from inferd.importer.model_ids import derive_model_id, is_valid_model_id
from inferd.importer.task_detection import detect_task_type
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
    "ModelSource": "inferd.importer.hub",
    "locate_model": "inferd.importer.hub",
    "TracedModel": "inferd.importer.tracing",
    "detect_task": "inferd.importer.tracing",
    "load_traced_model": "inferd.importer.tracing",
    "save_traced_model": "inferd.importer.tracing",
    "trace_model": "inferd.importer.tracing",
}

if TYPE_CHECKING:
    from inferd.importer.hf import import_transformers, transformers_available
    from inferd.importer.hub import ModelSource, locate_model
    from inferd.importer.tracing import TracedModel, detect_task, load_traced_model, save_traced_model, trace_model


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
    "ModelNotFound",
    "ModelSource",
    "PrefixStrings",
    "TaskSpec",
    "TaskType",
    "TokenizerKind",
    "TracedModel",
    "TransformersMissing",
    "UnknownTaskType",
    "UnsupportedModel",
    "classification_labels",
    "clear_model",
    "connect",
    "count_parts",
    "derive_model_id",
    "detect_task",
    "detect_task_type",
    "import_transformers",
    "is_valid_model_id",
    "iter_definition_parts",
    "load_traced_model",
    "locate_model",
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
