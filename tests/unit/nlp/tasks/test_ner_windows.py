"""NER over a document longer than one window: every window counts, overlaps count once.

Elasticsearch's NerProcessor reads only the first window; inferd reads them all.
"""

from __future__ import annotations

import numpy as np

from inferd.nlp import TokenizerOptions, build_tokenizer
from inferd.nlp.tasks import PROCESSORS

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "josh", "met", "sara", "in", "paris", "and", "then", "left"]
LABELS = ["O", "B_PER", "I_PER", "B_LOC", "I_LOC"]
GOLD = {"josh": "B_PER", "sara": "B_PER", "paris": "B_LOC"}


def logits_for(tokens: tuple[str, ...]) -> np.ndarray:
    rows = np.full((len(tokens), len(LABELS)), -5.0)
    for index, token in enumerate(tokens):
        rows[index, LABELS.index(GOLD.get(token, "O"))] = 5.0
    return rows


def test_entities_in_every_window_each_once() -> None:
    text = "josh met sara and then left and then met josh in paris and then left"
    tokenizer = build_tokenizer(
        "bert", VOCABULARY, options=TokenizerOptions(max_sequence_length=8, truncate="none", span=3)
    )
    encodings = tokenizer.encode(text)
    assert len(encodings) >= 3
    outputs = [logits_for(encoding.tokens) for encoding in encodings]
    result = PROCESSORS["ner"]({"classification_labels": LABELS}, text, encodings, outputs)
    found = [(entity["entity"], entity["class_name"], entity["start_pos"]) for entity in result["entities"]]
    assert found == [
        ("josh", "PER", 0), ("sara", "PER", 9), ("josh", "PER", text.index("josh in")), ("paris", "LOC", text.index("paris")),
    ]
    assert result["predicted_value"].startswith("[josh](PER&josh) met [sara](PER&sara)")
    assert result["predicted_value"].endswith("[paris](LOC&paris) and then left")
