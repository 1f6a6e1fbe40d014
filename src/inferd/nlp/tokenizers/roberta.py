"""The ``roberta`` tokenization: byte-level BPE from ``vocabulary`` and ``merges``."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from inferd.nlp.errors import TokenizerConfigError
from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.specials import ROBERTA_SPECIALS, vocabulary_index
from inferd.nlp.tokenizers.wordpiece import add_never_split


def parse_merges(merges: list[str]) -> list[tuple[str, str]]:
    """``"a b"`` lines (the order is the merge priority) into pairs; byte-level tokens hold no spaces."""
    pairs: list[tuple[str, str]] = []
    for line in merges:
        parts = line.split(" ")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise TokenizerConfigError(f"invalid merge [{line}]: expected two tokens separated by a space")
        pairs.append((parts[0], parts[1]))
    return pairs


def build_roberta(vocabulary: list[str], merges: list[str] | None, options: TokenizerOptions) -> NlpTokenizer:
    if not merges:
        raise TokenizerConfigError("[merges] must be provided for a roberta tokenizer")
    index = vocabulary_index(vocabulary)
    unk = ROBERTA_SPECIALS.unk if ROBERTA_SPECIALS.unk in index else None
    try:
        model = models.BPE(index, parse_merges(merges), unk_token=unk)
    except Exception as error:  # the Rust side reports merges naming unknown tokens
        raise TokenizerConfigError(f"invalid roberta merges: {error}") from error
    backend = Tokenizer(model)
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=options.add_prefix_space, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    # RoBERTa's <mask> swallows the space before it, as in Elasticsearch's BpeAnalyzer.
    add_never_split(backend, ROBERTA_SPECIALS, index, lstrip_mask=True)
    ids = {name: index[name] for name in ROBERTA_SPECIALS.all if name in index}
    return NlpTokenizer("roberta", backend, ROBERTA_SPECIALS, ids, options)
