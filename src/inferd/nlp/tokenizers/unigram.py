"""Unigram (sentencepiece) backends for xlm_roberta and deberta_v2, built from ``scores``.

Elasticsearch normalizes with the model's precompiled character map, which is not uploaded;
NFKC is the closest stand-in (sentencepiece's ``nmt_nfkc`` map is NFKC plus control-character
removal and a few format characters read as spaces; ``NMT_SPACES``). Whitespace is collapsed and
trimmed as sentencepiece's ``remove_extra_whitespaces``.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from inferd.nlp.errors import TokenizerConfigError
from inferd.nlp.tokenizers.specials import SpecialTokens, require_token, vocabulary_index
from inferd.nlp.tokenizers.wordpiece import add_never_split

# Control characters are dropped once tab, newline and carriage return have become spaces
# (Elasticsearch's ControlCharFilter). Oniguruma reads \x9f as a byte, hence the property.
CONTROL_CHARS = r"\p{Cc}"
# Format and separator characters that sentencepiece's nmt_nfkc rule turns into a space (found by
# comparing its normaliser with this one over every code point): form feed, zero-width space and
# non-joiner, direction marks, line and paragraph separators, BOM, ogham space, replacement char.
NMT_SPACES = r"[\x{0C}\x{061C}\x{1680}\x{200B}\x{200C}\x{200E}\x{200F}\x{2028}\x{2029}\x{FEFF}\x{FFFD}]"


def unigram_backend(
    vocabulary: list[str],
    scores: list[float] | None,
    specials: SpecialTokens,
    *,
    do_lower_case: bool,
    byte_fallback: bool,
) -> tuple[Tokenizer, dict[str, int]]:
    if scores is None or len(scores) != len(vocabulary):
        raise TokenizerConfigError(
            f"[scores] must hold one score per vocabulary entry: got [{0 if scores is None else len(scores)}] "
            f"scores for [{len(vocabulary)}] tokens"
        )
    index = vocabulary_index(vocabulary)
    unk_id = require_token(index, specials.unk)
    try:
        model = models.Unigram([(t, float(s)) for t, s in zip(vocabulary, scores, strict=True)], unk_id, byte_fallback)
    except Exception as error:
        raise TokenizerConfigError(f"invalid unigram vocabulary: {error}") from error
    backend = Tokenizer(model)
    steps: list[normalizers.Normalizer] = [
        normalizers.Replace(Regex(NMT_SPACES), " "),
        normalizers.Replace(Regex(r"[\t\n\r]"), " "),
        normalizers.Replace(Regex(CONTROL_CHARS), ""),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Strip(),
    ]
    if do_lower_case:
        steps.append(normalizers.Lowercase())
    backend.normalizer = normalizers.Sequence(steps)
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    backend.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    add_never_split(backend, specials, index, lstrip_mask=True)
    return backend, {name: index[name] for name in specials.all if name in index}
