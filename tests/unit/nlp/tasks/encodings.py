"""Hand-built ``Encoding`` values for the post-processor tests (independent of the tokenizers).

``words`` lists ``(word, [sub-tokens])``; offsets are found in the text, each sub-token
getting the next characters of its word (``##`` markers excluded), as WordPiece offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

from inferd.nlp.tokenizers.options import Encoding

Words = Sequence[tuple[str, Sequence[str]]]


def _sequence(text: str, words: Words, sequence: int, first_word: int) -> list[tuple[str, tuple[int, int], int]]:
    tokens: list[tuple[str, tuple[int, int], int]] = []
    cursor = 0
    for w, (word, pieces) in enumerate(words):
        start = text.index(word, cursor)
        cursor = start + len(word)
        position = start
        for k, piece in enumerate(pieces):
            length = len(piece.removeprefix("##")) if k < len(pieces) - 1 else start + len(word) - position
            tokens.append((piece, (position, position + length), first_word + w))
            position += length
    return tokens


def encode(
    text: str,
    words: Words,
    *,
    pair: tuple[str, Words] | None = None,
    specials: bool = True,
    truncated: bool = False,
) -> Encoding:
    """One input; with ``pair`` it is ``[CLS] text [SEP] pair [SEP]`` (question answering order)."""
    parts: list[tuple[str, tuple[int, int], int, int | None]] = []
    if specials:
        parts.append(("[CLS]", (0, 0), -1, None))
    first = _sequence(text, words, 0, 0)
    parts += [(t, o, m, 0) for t, o, m in first]
    if specials:
        parts.append(("[SEP]", (0, 0), -1, None))
    if pair is not None:
        second = _sequence(pair[0], pair[1], 1, len(words))
        parts += [(t, o, m, 1) for t, o, m in second]
        if specials:
            parts.append(("[SEP]", (0, 0), -1, None))
    return Encoding(
        token_ids=tuple(range(len(parts))),
        tokens=tuple(p[0] for p in parts),
        offsets=tuple(p[1] for p in parts),
        sequence_ids=tuple(p[3] for p in parts),
        token_map=tuple(p[2] for p in parts),
        is_truncated=truncated,
    )


def simple(words: Sequence[str], text: str | None = None, **kwargs: bool) -> Encoding:
    """An input of whole-word tokens."""
    text = " ".join(words) if text is None else text
    return encode(text, [(w, [w]) for w in words], **kwargs)
