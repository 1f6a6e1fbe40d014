"""``build_tokenizer``: the one entry point from an uploaded vocabulary to a tokenizer."""

from __future__ import annotations

from collections.abc import Sequence

from inferd.nlp.errors import TokenizerConfigError
from inferd.nlp.tokenizers.base import NlpTokenizer
from inferd.nlp.tokenizers.bert import build_bert
from inferd.nlp.tokenizers.bert_ja import build_bert_ja
from inferd.nlp.tokenizers.deberta_v2 import build_deberta_v2
from inferd.nlp.tokenizers.mpnet import build_mpnet
from inferd.nlp.tokenizers.options import TokenizerOptions
from inferd.nlp.tokenizers.roberta import build_roberta
from inferd.nlp.tokenizers.xlm_roberta import build_xlm_roberta

# The tokenization container keys Elasticsearch accepts.
TOKENIZER_KINDS = ("bert", "bert_ja", "mpnet", "roberta", "xlm_roberta", "deberta_v2")


def build_tokenizer(
    kind: str,
    vocabulary: Sequence[str],
    merges: Sequence[str] | None = None,
    scores: Sequence[float] | None = None,
    options: TokenizerOptions | None = None,
) -> NlpTokenizer:
    """Build the ``kind`` tokenizer from what ``PUT .../vocabulary`` received; never downloads."""
    opts = options or TokenizerOptions()
    vocab = list(vocabulary)
    merge_list = list(merges) if merges is not None else None
    score_list = [float(s) for s in scores] if scores is not None else None
    if kind == "bert":
        tokenizer = build_bert(vocab, opts)
    elif kind == "bert_ja":
        tokenizer = build_bert_ja(vocab, opts)
    elif kind == "mpnet":
        tokenizer = build_mpnet(vocab, opts)
    elif kind == "roberta":
        tokenizer = build_roberta(vocab, merge_list, opts)
    elif kind == "xlm_roberta":
        tokenizer = build_xlm_roberta(vocab, score_list, opts)
    elif kind == "deberta_v2":
        tokenizer = build_deberta_v2(vocab, score_list, opts)
    else:
        raise TokenizerConfigError(f"unknown tokenization type [{kind}]")
    if opts.with_special_tokens:
        missing = [t for t in (tokenizer.specials.cls, tokenizer.specials.sep) if tokenizer.special_id(t) is None]
        if missing:
            raise TokenizerConfigError(f"The vocabulary does not contain the required token [{missing[0]}]")
    return tokenizer
