"""NER over a document that `truncate` cut inside a word: the word is reported whole, as Elasticsearch does.

Elasticsearch's word pieces each carry their word's offsets (WordPieceTokenFilter, BpeTokenizer), and its
NerProcessor takes an entity's span from them, so a word whose last pieces were cut off keeps its full text.
"""

from __future__ import annotations

import numpy as np
import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer
from inferd.nlp.tasks import PROCESSORS
from tests.unit.nlp.tokenizers.es_bpe_vocab import TEST_CASE_MERGE, TEST_CASED_VOCAB as BPE_VOCAB

LABELS = ["O", "B_PER", "I_PER", "B_LOC", "I_LOC"]
WORDPIECE_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "we", "walked", "acr", "##oss", "the", "bridge"]


def tagged_as_location(tokens: tuple[str, ...], location: set[str]) -> np.ndarray:
    """Logits naming the `location` tokens B_LOC and every other token O."""
    rows = np.full((len(tokens), len(LABELS)), -5.0)
    for index, token in enumerate(tokens):
        rows[index, LABELS.index("B_LOC" if token in location else "O")] = 5.0
    return rows


def test_a_word_cut_by_truncation_is_reported_whole() -> None:
    text = "we walked across the bridge"
    tokenizer = build_tokenizer(
        "bert", WORDPIECE_VOCABULARY, options=TokenizerOptions(max_sequence_length=5, truncate="first")
    )
    (encoding,) = tokenizer.encode(text)
    assert encoding.tokens == ("[CLS]", "we", "walked", "acr", "[SEP]")  # `##oss` was cut off
    result = PROCESSORS["ner"]({"classification_labels": LABELS}, text, [encoding],
                               [tagged_as_location(encoding.tokens, {"acr"})])
    (entity,) = result["entities"]
    assert (entity["entity"], entity["class_name"], entity["start_pos"], entity["end_pos"]) == ("across", "LOC", 10, 16)
    assert result["predicted_value"] == "we walked [across](LOC&across) the bridge"
    assert result["is_truncated"] is True


@pytest.mark.parametrize("max_sequence_length", [3, 4])
def test_a_bpe_word_cut_by_truncation_is_reported_whole(max_sequence_length: int) -> None:
    """RoBERTa's byte-level BPE: `Elasticsearch` is `Elast` + `icsearch`, cut (3) or kept whole (4)."""
    text = "Elasticsearch fun"
    tokenizer = build_tokenizer(
        "roberta", BPE_VOCAB, merges=TEST_CASE_MERGE,
        options=TokenizerOptions(max_sequence_length=max_sequence_length, truncate="first"),
    )
    (encoding,) = tokenizer.encode(text)
    kept = encoding.tokens[1:-1]
    assert kept == ("Elast", "icsearch")[: max_sequence_length - 2]
    result = PROCESSORS["ner"]({"classification_labels": LABELS}, text, [encoding],
                               [tagged_as_location(encoding.tokens, {"Elast", "icsearch"})])
    (entity,) = result["entities"]
    assert (entity["entity"], entity["start_pos"], entity["end_pos"]) == ("Elasticsearch", 0, 13)
