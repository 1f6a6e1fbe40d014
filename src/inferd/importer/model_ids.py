"""Trained model ids: Elasticsearch's rule for them, and eland's way of deriving one from a hub id or a path.

eland's `elasticsearch_model_id` replaces whitespace, `/` and `\\` with `__`, lowercases, keeps the last
64 characters and drops a leading `__`: `sentence-transformers/all-MiniLM-L6-v2` becomes
`sentence-transformers__all-minilm-l6-v2`. That alone can still give an id Elasticsearch refuses (from
`./models/x`, `.__models__x`), so here any other invalid character also becomes `_` and the ends are trimmed to
a letter or digit; for every name eland's derivation turns into a valid id, the two agree.
"""

from __future__ import annotations

import re

MAX_MODEL_ID_LENGTH = 64  # Elasticsearch's limit
# Elasticsearch's rule for trained model ids (MlStrings.isValidId).
_VALID_ID = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?")
_SEPARATORS = re.compile(r"[\s\\/]")  # eland's
_INVALID_CHARACTER = re.compile(r"[^a-z0-9_\-.]")
_UNTRIMMED_ENDS = re.compile(r"^[^a-z0-9]+|[^a-z0-9]+$")

MODEL_ID_RULE = (
    "lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit, "
    f"at most {MAX_MODEL_ID_LENGTH} characters"
)


def is_valid_model_id(model_id: str) -> bool:
    return len(model_id) <= MAX_MODEL_ID_LENGTH and _VALID_ID.fullmatch(model_id) is not None


def derive_model_id(name: str) -> str:
    """The model id eland would create for a hub id or model path (made valid where eland's would not be).

    Returns "" when nothing valid is left (a name of punctuation only); callers ask for an explicit id then.
    """
    derived = _SEPARATORS.sub("__", name).lower()
    derived = _INVALID_CHARACTER.sub("_", derived)[-MAX_MODEL_ID_LENGTH:]
    return _UNTRIMMED_ENDS.sub("", derived)
