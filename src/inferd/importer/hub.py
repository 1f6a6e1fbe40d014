"""Where the model to import comes from: a local directory, or a Hugging Face hub id downloaded first.

eland's `--hub-model-id` takes either. A value that names an existing directory is used as it is, and
nothing is fetched; any other value is a hub id, downloaded (once: `huggingface_hub`'s cache) with the
files tracing reads, skipping other frameworks' weights. Offline, or with the hub out of reach, the
download fails with a message saying so; tracing itself always reads the local copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from inferd.importer.errors import ModelNotFound
from inferd.importer.hf import import_transformers

# Weights for other frameworks and runtimes: never read by tracing, often as large as the model itself.
_OTHER_FORMATS = [
    "*.h5", "*.msgpack", "*.onnx", "*.ot", "*.tflite", "*.gguf", "*.mlmodel",
    "onnx/*", "openvino/*", "coreml/*", "*.mlpackage/*",
]  # fmt: skip
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """A model ready to trace: its local directory and the name it was asked for by (a hub id or a path)."""

    directory: Path
    name: str
    from_hub: bool

    @property
    def label(self) -> str:
        """How output and the model's description name it: the hub id, or the directory's own name."""
        return self.name if self.from_hub else self.directory.resolve().name


def locate_model(name: str, *, access_token: str | None = None) -> ModelSource:
    """The directory `name` names, or else the downloaded copy of hub model `name`."""
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(path, name, from_hub=False)
    if path.exists():
        raise ModelNotFound(f"[{name}] is a file; pass the Hugging Face model's directory or its hub id")
    return ModelSource(download(name, access_token=access_token), name, from_hub=True)


def download(hub_id: str, *, access_token: str | None = None) -> Path:
    """Fetch hub model `hub_id` into the Hugging Face cache (or find it there) and return its directory."""
    import_transformers()  # the same extra: `huggingface_hub` comes with `transformers`
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    not_local = f"[{hub_id}] is not a local directory"
    try:
        directory = huggingface_hub.snapshot_download(hub_id, token=access_token, ignore_patterns=_OTHER_FORMATS)
    except HFValidationError as error:
        raise ModelNotFound(f"{not_local}, nor a Hugging Face hub model id ({error})") from None
    except LocalEntryNotFoundError as error:
        if huggingface_hub.is_offline_mode():
            reason = "the Hugging Face hub is switched off (HF_HUB_OFFLINE) and the local cache has no copy of it"
        else:
            reason = f"the Hugging Face hub cannot be reached to download it ({_first_line(error)})"
        raise ModelNotFound(f"{not_local}, and {reason}") from None
    except HfHubHTTPError as error:
        raise ModelNotFound(
            f"{not_local}, and the Hugging Face hub refused to send it ({_first_line(error)}); a private or gated "
            "model needs --hub-access-token"
        ) from None
    _log.info("hub model %s is at %s", hub_id, directory)
    return Path(directory)


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
