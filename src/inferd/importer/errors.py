"""The errors the importer raises; the CLI turns each into a one-line message and exit status 1.

    ModelImportError           the base: the model cannot be traced, described or uploaded
    ├── TransformersMissing    the `import` extra is not installed
    ├── UnsupportedModel       a tokenizer, task or sentence-transformers module eland cannot express either
    ├── UnknownTaskType        `--task-type auto` cannot tell the task from the model's architectures
    ├── ModelNotFound          neither a local model directory nor a hub model that can be downloaded
    └── ModelExists            the server already has the model id and clearing was not asked for

They are client-side errors, not `inferd.errors.InferdError`s: nothing here is answered over HTTP.
"""

from __future__ import annotations


class ModelImportError(Exception):
    """The model could not be imported; the message says why and what to do."""


class TransformersMissing(ModelImportError):
    def __init__(self) -> None:
        super().__init__(
            "Tracing Hugging Face models needs `transformers`, which is not installed: "
            "install the import extra with `pip install 'inferd[import]'`."
        )


class UnsupportedModel(ModelImportError):
    pass


class UnknownTaskType(ModelImportError):
    """eland's TaskTypeError: the task cannot be read off the model's architectures."""


class ModelNotFound(ModelImportError):
    """Neither a local model directory nor a hub model that could be downloaded."""


class ModelExists(ModelImportError):
    def __init__(self, model_id: str) -> None:
        super().__init__(
            f"Trained model [{model_id}] already exists; pass --clear-previous to replace it."
        )
        self.model_id = model_id
