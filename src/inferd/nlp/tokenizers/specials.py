"""Special tokens of each tokenizer family and how they frame one or two sequences.

BERT frames ``[CLS] a [SEP]`` and ``[CLS] a [SEP] b [SEP]``; RoBERTa-style models (roberta,
xlm_roberta and mpnet) put two separators between the sequences: ``<s> a </s></s> b </s>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferd.nlp.errors import TokenizerConfigError


@dataclass(frozen=True, slots=True)
class SpecialTokens:
    """Names of the special tokens and the pair layout; ids are resolved against a vocabulary."""

    cls: str
    sep: str
    pad: str
    mask: str
    unk: str
    double_sep_in_pair: bool

    @property
    def all(self) -> tuple[str, ...]:
        return (self.cls, self.sep, self.pad, self.mask, self.unk)

    @property
    def extra_single(self) -> int:
        """Tokens added around a single sequence (Elasticsearch's numExtraTokensForSingleSequence)."""
        return 2

    @property
    def extra_pair(self) -> int:
        """Tokens added around a pair (Elasticsearch's getNumExtraTokensForSeqPair)."""
        return 4 if self.double_sep_in_pair else 3


BERT_SPECIALS = SpecialTokens("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", double_sep_in_pair=False)
MPNET_SPECIALS = SpecialTokens("<s>", "</s>", "<pad>", "<mask>", "[UNK]", double_sep_in_pair=True)
ROBERTA_SPECIALS = SpecialTokens("<s>", "</s>", "<pad>", "<mask>", "<unk>", double_sep_in_pair=True)
XLM_ROBERTA_SPECIALS = ROBERTA_SPECIALS
DEBERTA_V2_SPECIALS = SpecialTokens("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", double_sep_in_pair=False)


def vocabulary_index(vocabulary: list[str]) -> dict[str, int]:
    """Token -> id, rejecting what would silently shift ids (empty or duplicated entries)."""
    if not vocabulary:
        raise TokenizerConfigError("[vocabulary] must not be empty")
    index: dict[str, int] = {}
    for i, token in enumerate(vocabulary):
        if token in index:
            raise TokenizerConfigError(f"vocabulary contains duplicate token [{token}] at [{index[token]}] and [{i}]")
        index[token] = i
    return index


def require_token(index: dict[str, int], token: str) -> int:
    """The id of a special token the tokenizer cannot work without."""
    try:
        return index[token]
    except KeyError:
        raise TokenizerConfigError(f"The vocabulary does not contain the required token [{token}]") from None
