"""``fill_mask``: the most probable tokens for the single mask position.

As Elasticsearch's ``FillMaskProcessor``: the input must hold exactly one mask token (the
tokenizer's: ``[MASK]`` for BERT, ``<mask>`` for RoBERTa), the mask row of the first input
is soft-maxed over the vocabulary, the best token is ``predicted_value`` and replaces the
mask in ``predicted_sequence``, and ``num_top_classes`` (default 5, ``-1``: all, ``0``: no
``top_classes``) tokens are listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import option_int, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskInput, InvalidTaskOptions
from inferd.nlp.tasks.scoring import softmax, top_k
from inferd.nlp.tokenizers.options import Encoding

DEFAULT_MASK_TOKEN = "[MASK]"
DEFAULT_NUM_RESULTS = 5
# Word-start / continuation markers of the vocabularies: WordPiece, byte-level BPE, SentencePiece.
_CONTINUATION = "##"
_WORD_START = ("\u0120", "\u2581")


def mask_token(task_options: Mapping[str, Any]) -> str:
    """The configured mask token (Elasticsearch fills in the tokenizer's on PUT)."""
    return str(task_options.get("mask_token") or DEFAULT_MASK_TOKEN)


def validate_input(task_options: Mapping[str, Any], text: str) -> None:
    """Rejects a document without exactly one mask token, before tokenizing it (ES messages)."""
    mask = mask_token(task_options)
    first = text.find(mask)
    if first < 0:
        raise InvalidTaskInput(f"no {mask} token could be found")
    if text.find(mask, first + len(mask)) > 0:
        raise InvalidTaskInput(f"only one {mask} token should exist in the input")


def decode(token: str) -> str:
    """A vocabulary entry as text: continuation and word-start markers removed."""
    if token.startswith(_CONTINUATION) and len(token) > len(_CONTINUATION):
        return token[len(_CONTINUATION) :]
    if token.startswith(_WORD_START) and len(token) > 1:
        return token[1:]
    return token


def mask_position(encoding: Encoding, mask: str, vocabulary: Sequence[str] | None) -> int:
    """Index of the mask token: by its id when the vocabulary knows it, else by its text."""
    if vocabulary is not None and mask in vocabulary:
        mask_id = list(vocabulary).index(mask)
        if mask_id in encoding.token_ids:
            return encoding.token_ids.index(mask_id)
        raise InvalidModelOutput(f"mask token id [{mask_id}] not found in the tokenization")
    if mask in encoding.tokens:
        return encoding.tokens.index(mask)
    raise InvalidModelOutput(f"mask token [{mask}] not found in the tokenization")


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Fills the mask of the first input from its ``(tokens, vocabulary)`` logits."""
    if vocabulary is None:
        raise InvalidTaskOptions("fill_mask requires the model vocabulary")
    if not encodings or len(encodings[0]) == 0 or not outputs:
        raise InvalidModelOutput("tokenization is empty")
    mask = mask_token(task_options)
    position = mask_position(encodings[0], mask, vocabulary)
    logits = np.asarray(outputs[0], dtype=np.float64)
    logits = logits.reshape(-1, logits.shape[-1])
    if position >= logits.shape[0]:
        raise InvalidModelOutput(f"fill_mask result has [{logits.shape[0]}] rows; mask is at [{position}]")
    probabilities = softmax(logits[position])
    if len(probabilities) > len(vocabulary):
        raise InvalidModelOutput(
            f"fill_mask result has [{len(probabilities)}] scores but the vocabulary has [{len(vocabulary)}] tokens"
        )
    num_results = option_int(task_options, "num_top_classes", DEFAULT_NUM_RESULTS)
    best = top_k(probabilities, -1 if num_results == -1 else max(num_results, 1))
    predicted = decode(vocabulary[best[0]])
    result: dict[str, Any] = {results_field(task_options): predicted}
    if num_results != 0:
        result["top_classes"] = [
            {
                "class_name": decode(vocabulary[i]),
                "class_probability": float(probabilities[i]),
                "class_score": float(probabilities[i]),
            }
            for i in best
        ]
    result["prediction_probability"] = float(probabilities[best[0]])
    result["predicted_sequence"] = text.replace(mask, predicted)
    return with_truncation(result, encodings)
