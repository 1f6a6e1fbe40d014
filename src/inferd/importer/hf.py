"""The one place that imports `transformers`: lazily, offline, and quietly.

`transformers` is the optional `import` extra; `import inferd` (and the server) must never need it,
so every use goes through `import_transformers()`, which turns its absence into `TransformersMissing`.
Models load from a local directory only (`local_files_only`), in float32, with `return_dict=False`
so they return tuples that trace (transformers 5 dropped `torchscript=True`).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from inferd.importer.errors import TransformersMissing, UnsupportedModel

_log = logging.getLogger(__name__)


def transformers_available() -> bool:
    """Whether the `import` extra is installed, without importing it."""
    return importlib.util.find_spec("transformers") is not None


def import_transformers() -> ModuleType:
    """Import `transformers` on first use; raise `TransformersMissing` when it is not installed."""
    if not transformers_available():
        raise TransformersMissing()
    try:
        return importlib.import_module("transformers")
    except ImportError as error:  # installed but broken (a missing dependency of its own)
        raise TransformersMissing() from error


@contextlib.contextmanager
def quiet_transformers() -> Iterator[ModuleType]:
    """Silence transformers' progress bars and advisory log lines for the duration, then restore them."""
    transformers = import_transformers()
    logging_utils = transformers.utils.logging
    bars_were_on = logging_utils.is_progress_bar_enabled()
    verbosity = logging_utils.get_verbosity()
    logging_utils.disable_progress_bar()
    logging_utils.set_verbosity_error()
    try:
        yield transformers
    finally:
        logging_utils.set_verbosity(verbosity)
        if bars_were_on:
            logging_utils.enable_progress_bar()


def load_tokenizer(model_dir: Path) -> Any:
    """The model directory's tokenizer (always the `tokenizers`-backed one in transformers 5)."""
    return _from_directory("AutoTokenizer", model_dir, "load a tokenizer")


def load_config(model_dir: Path) -> Any:
    """The model directory's `PretrainedConfig` (config.json), without loading any weights."""
    return _from_directory("AutoConfig", model_dir, "read the model's config")


def _from_directory(auto_class: str, model_dir: Path, what: str) -> Any:
    with quiet_transformers() as transformers:
        try:
            return getattr(transformers, auto_class).from_pretrained(str(model_dir), local_files_only=True)
        except (OSError, ValueError, KeyError) as error:
            raise UnsupportedModel(f"Cannot {what} from [{model_dir}]: {error}") from error


def load_model(model_dir: Path, auto_class: str) -> Any:
    """Load the model with the named auto class, in eval mode, float32, returning tuples."""
    with quiet_transformers() as transformers:
        loader = getattr(transformers, auto_class)
        try:
            model = loader.from_pretrained(
                str(model_dir), local_files_only=True, return_dict=False, dtype=torch.float32
            )
        except (OSError, ValueError, KeyError) as error:
            raise UnsupportedModel(f"Cannot load [{model_dir}] with {auto_class}: {error}") from error
    model.eval()
    _log.debug("loaded %s from %s with %s", type(model).__name__, model_dir, auto_class)
    return model
