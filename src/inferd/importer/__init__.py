"""Import Hugging Face models into inferd, as eland does into Elasticsearch: trace, describe, upload.

`transformers` (the `import` extra) is imported only when a model is traced, so importing this
package never needs it.
"""

from inferd.importer.config import classification_labels, model_config
from inferd.importer.errors import ModelExists, ModelImportError, TransformersMissing, UnsupportedModel
from inferd.importer.hf import import_transformers, transformers_available
from inferd.importer.tasks import TASKS, TaskSpec, TaskType, parse_task_type
from inferd.importer.tokenization import TokenizerKind, tokenization_config, tokenizer_kind, vocabulary_payload
from inferd.importer.tracing import TracedModel, load_traced_model, save_traced_model, trace_model
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
    "trace_model",
    "transformers_available",
    "upload_model",
]
