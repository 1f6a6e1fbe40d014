"""What Elasticsearch needs to rebuild a model's tokenizer: the tokenization config and the vocabulary.

Elasticsearch never runs the Hugging Face tokenizer; it rebuilds one of its own kinds (`bert`,
`mpnet`, `roberta`, `xlm_roberta`, `deberta_v2`, `bert_ja`) from the uploaded vocabulary, so this
module decides the kind, its options, and the `{vocabulary[, merges][, scores]}` payload. The token
lists are read from the tokenizer's own `tokenizer.json` model (WordPiece, BPE or Unigram).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from inferd.importer.errors import UnsupportedModel
from inferd.importer.tasks import TASKS, TaskType


class TokenizerKind(StrEnum):
    """The `tokenization` container keys of Elasticsearch."""

    BERT = "bert"
    BERT_JA = "bert_ja"
    MPNET = "mpnet"
    ROBERTA = "roberta"
    XLM_ROBERTA = "xlm_roberta"
    DEBERTA_V2 = "deberta_v2"


# Tokenizer class names (checked along the MRO, so subclasses such as DPR's match) to their kind.
_KIND_BY_CLASS: dict[str, TokenizerKind] = {
    "XLMRobertaTokenizer": TokenizerKind.XLM_ROBERTA,
    "DebertaV2Tokenizer": TokenizerKind.DEBERTA_V2,
    "MPNetTokenizer": TokenizerKind.MPNET,
    "RobertaTokenizer": TokenizerKind.ROBERTA,
    "BartTokenizer": TokenizerKind.ROBERTA,
    "BertJapaneseTokenizer": TokenizerKind.BERT_JA,
    "BertTokenizer": TokenizerKind.BERT,
    "DistilBertTokenizer": TokenizerKind.BERT,
    "ElectraTokenizer": TokenizerKind.BERT,
    "MobileBertTokenizer": TokenizerKind.BERT,
    "SqueezeBertTokenizer": TokenizerKind.BERT,
}

# Elasticsearch feeds these kinds only (input_ids, attention_mask); eland traces them with two inputs.
TWO_INPUT_KINDS = frozenset(
    {TokenizerKind.MPNET, TokenizerKind.ROBERTA, TokenizerKind.XLM_ROBERTA, TokenizerKind.DEBERTA_V2}
)

# Tokenizers sometimes report a huge sentinel (1e30) as their maximum length; eland's cut-off.
_REASONABLE_MAX_LENGTH = 8192


def tokenizer_kind(tokenizer: Any) -> TokenizerKind:
    """The Elasticsearch tokenizer that reproduces this one, or `UnsupportedModel`."""
    for cls in type(tokenizer).__mro__:
        kind = _KIND_BY_CLASS.get(cls.__name__.removesuffix("Fast"))
        if kind is TokenizerKind.BERT_JA and getattr(tokenizer, "word_tokenizer_type", None) != "mecab":
            return TokenizerKind.BERT
        if kind is not None:
            return kind
    if _backend_model(tokenizer).get("type") == "WordPiece" and getattr(tokenizer, "cls_token", None) == "[CLS]":
        return TokenizerKind.BERT  # a generic tokenizer class around a BERT WordPiece vocabulary
    raise UnsupportedModel(
        f"Tokenizer {type(tokenizer).__name__} is not supported; Elasticsearch can rebuild only "
        f"these kinds: {', '.join(known.value for known in TokenizerKind)}"
    )


def find_max_sequence_length(tokenizer: Any, kind: TokenizerKind, max_position_embeddings: int | None) -> int:
    """The longest input the model takes: the tokenizer's limit, else the model's positions (eland's search)."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit <= _REASONABLE_MAX_LENGTH:
        return limit
    if max_position_embeddings:
        # RoBERTa-style models offset positions past the padding index, so two slots are not usable.
        offset = 2 if kind in (TokenizerKind.ROBERTA, TokenizerKind.XLM_ROBERTA, TokenizerKind.MPNET) else 0
        return min(max_position_embeddings - offset, _REASONABLE_MAX_LENGTH)
    if kind is TokenizerKind.BERT:
        return 512
    raise UnsupportedModel("Cannot determine the model's maximum input length; pass --max-model-input-length")


def tokenization_config(
    tokenizer: Any,
    task_type: TaskType,
    *,
    max_sequence_length: int | None = None,
    max_position_embeddings: int | None = None,
) -> dict[str, dict[str, Any]]:
    """The `tokenization` container, e.g. `{"bert": {"do_lower_case": true, ...}}`, with the task's defaults."""
    kind = tokenizer_kind(tokenizer)
    spec = TASKS[task_type]
    if max_sequence_length is None:
        max_sequence_length = find_max_sequence_length(tokenizer, kind, max_position_embeddings)
        if spec.max_sequence_length is not None:
            max_sequence_length = min(spec.max_sequence_length, max_sequence_length)
    options: dict[str, Any] = {}
    if kind in (TokenizerKind.BERT, TokenizerKind.BERT_JA, TokenizerKind.MPNET, TokenizerKind.DEBERTA_V2):
        options["do_lower_case"] = _does_lower_case(tokenizer)
    if kind is TokenizerKind.ROBERTA:
        options["add_prefix_space"] = bool(getattr(tokenizer, "add_prefix_space", False))
    options["with_special_tokens"] = True
    options["max_sequence_length"] = int(max_sequence_length)
    options["truncate"] = spec.truncate
    if spec.span is not None:  # windows overlap by `span` tokens; keep it well inside a short window
        options["span"] = min(spec.span, int(max_sequence_length) // 2)
    return {kind.value: options}


def vocabulary_payload(tokenizer: Any) -> dict[str, list[Any]]:
    """The body of `PUT _ml/trained_models/{id}/vocabulary`: tokens by id, plus BPE merges or Unigram scores."""
    by_token: dict[str, int] = tokenizer.get_vocab()
    vocabulary = [token for token, _ in sorted(by_token.items(), key=lambda item: item[1])]
    if sorted(by_token.values()) != list(range(len(vocabulary))):
        raise UnsupportedModel("The tokenizer's token ids are not contiguous from 0; its vocabulary cannot be uploaded")
    payload: dict[str, list[Any]] = {"vocabulary": vocabulary}
    model = _backend_model(tokenizer)
    if model.get("type") == "BPE":
        payload["merges"] = [merge if isinstance(merge, str) else " ".join(merge) for merge in model.get("merges", [])]
    elif model.get("type") == "Unigram":
        scores = {piece: float(score) for piece, score in model.get("vocab", [])}
        payload["scores"] = [scores.get(token, 0.0) for token in vocabulary]
    return payload


def _backend_model(tokenizer: Any) -> dict[str, Any]:
    """The `model` section of the tokenizer's `tokenizer.json`; empty for pure-Python tokenizers."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return {}
    model: dict[str, Any] = json.loads(backend.to_str())["model"]
    return model


def _does_lower_case(tokenizer: Any) -> bool:
    """The tokenizer's own flag, else whether its normalizer lowercases."""
    flag = getattr(tokenizer, "do_lower_case", None)
    if isinstance(flag, bool):
        return flag
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    normalizer = json.loads(backend.to_str()).get("normalizer") or {}
    steps = normalizer.get("normalizers", [normalizer])
    return any(step.get("lowercase") is True or step.get("type") == "Lowercase" for step in steps if step)
