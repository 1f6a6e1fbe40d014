"""WordPiece backends for the BERT family (bert, mpnet, bert_ja), built from a vocabulary list."""

from __future__ import annotations

from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers
from tokenizers.pre_tokenizers import PreTokenizer

from inferd.nlp.tokenizers.specials import SpecialTokens, require_token, vocabulary_index

# Elasticsearch's WordPieceTokenFilter and BERT both give up on words longer than this.
MAX_INPUT_CHARS_PER_WORD = 100


def wordpiece_backend(
    vocabulary: list[str],
    specials: SpecialTokens,
    *,
    do_lower_case: bool,
    handle_chinese_chars: bool = True,
    pre_tokenizer: PreTokenizer | None = None,
) -> tuple[Tokenizer, dict[str, int]]:
    """A WordPiece tokenizer with BERT's normalizer; accents are stripped only when lowercasing."""
    index = vocabulary_index(vocabulary)
    require_token(index, specials.unk)
    backend = Tokenizer(
        models.WordPiece(
            index,
            unk_token=specials.unk,
            continuing_subword_prefix="##",
            max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD,
        )
    )
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=handle_chinese_chars,
        strip_accents=None,  # None follows `lowercase`, as BERT and Elasticsearch do
        lowercase=do_lower_case,
    )
    backend.pre_tokenizer = pre_tokenizer or pre_tokenizers.BertPreTokenizer()
    add_never_split(backend, specials, index)
    return backend, {name: index[name] for name in specials.all if name in index}


def add_never_split(
    backend: Tokenizer, specials: SpecialTokens, index: dict[str, int], lstrip_mask: bool = False
) -> None:
    """The mask token found verbatim in the text is kept whole, as Elasticsearch's NEVER_SPLIT; other special
    tokens typed in a document are ordinary text, so a client cannot forge sequence boundaries."""
    if specials.mask in index:
        backend.add_special_tokens([AddedToken(specials.mask, special=True, normalized=False, lstrip=lstrip_mask)])
