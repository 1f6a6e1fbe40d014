"""Model ids derived from hub ids and paths as eland derives them, always valid for Elasticsearch."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from inferd.importer import derive_model_id, is_valid_model_id


def elands_derivation(model_id: str) -> str:
    """eland's `elasticsearch_model_id` (eland/ml/pytorch/transformers.py), the reference to agree with."""
    derived = re.sub(r"[\s\\/]", "__", model_id).lower()[-64:]
    return derived.removeprefix("__")


def test_hub_ids_become_what_eland_creates() -> None:
    assert derive_model_id("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers__all-minilm-l6-v2"
    assert derive_model_id("dbmdz/bert-large-cased-finetuned-conll03-english") == (
        "dbmdz__bert-large-cased-finetuned-conll03-english")
    assert derive_model_id("elastic/distilbert-base-uncased-finetuned-conll03-english") == (
        "elastic__distilbert-base-uncased-finetuned-conll03-english")
    assert derive_model_id("/models/My Model") == "models__my__model"  # eland drops the leading `__` too


def test_paths_eland_would_make_invalid_ids_of_are_repaired() -> None:
    assert elands_derivation("./models/minilm") == ".__models__minilm"  # Elasticsearch refuses this one
    assert derive_model_id("./models/minilm") == "models__minilm"
    assert derive_model_id("../models/minilm/") == "models__minilm"
    assert derive_model_id("C:\\models\\bert:v2") == "c___models__bert_v2"
    long_path = "/data/" + "deep/" * 20 + "intfloat/multilingual-e5-small"
    derived = derive_model_id(long_path)
    assert len(derived) <= 64 and derived.endswith("__intfloat__multilingual-e5-small") and is_valid_model_id(derived)
    assert derive_model_id("/./") == ""  # nothing left: the command asks for --es-model-id


names = st.text(st.sampled_from("abcXYZ019-_./\\ :é"), max_size=90)


@given(names)
def test_a_derived_id_is_valid_or_empty(name: str) -> None:
    derived = derive_model_id(name)
    assert derived == "" or is_valid_model_id(derived)


@given(names)
def test_where_elands_id_is_valid_the_two_agree(name: str) -> None:
    if is_valid_model_id(elands_derivation(name)):
        assert derive_model_id(name) == elands_derivation(name)
