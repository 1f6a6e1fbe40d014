"""The tokenizer every model kind shares: a Hugging Face ``tokenizers`` backend built from the
uploaded vocabulary, framed, truncated and windowed by Elasticsearch's rules.

The backend runs without a post-processor: special tokens are added here, so truncation and
windowing count them exactly as Elasticsearch does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tokenizers import Tokenizer

from inferd.nlp.errors import InputTooLarge, InvalidTokenizationInput
from inferd.nlp.tokenizers.options import DEFAULT_SPAN, NO_SPAN, Encoding, TokenizerOptions, Truncate
from inferd.nlp.tokenizers.specials import SpecialTokens
from inferd.nlp.tokenizers.windowing import split_windows


@dataclass(frozen=True, slots=True)
class Pieces:
    """The inner tokenization of one text, before framing (Elasticsearch's InnerTokenization)."""

    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]
    word_map: list[int]
    positions: bool = True
    """False: built for a task that reads only the model's output, so ``tokens`` and ``offsets`` are empty."""

    def cut(self, start: int, end: int) -> Pieces:
        """Tokens ``[start, end)``, where a word cut at either edge keeps its whole span.

        Elasticsearch's word pieces each carry their word's offsets, so what it reads a word's span from (an NER
        entity, an answer) covers the whole word even when truncation or a window edge cut some of its pieces
        off. Stretching the edge piece to the word's start or end gives the same spans from the pieces kept.
        """
        offsets = self.offsets[start:end]
        if offsets and 0 < start < len(self.word_map) and self.word_map[start - 1] == self.word_map[start]:
            offsets[0] = (self.offsets[self._word_start(start)][0], offsets[0][1])
        if offsets and 0 < end < len(self.word_map) and self.word_map[end - 1] == self.word_map[end]:
            offsets[-1] = (offsets[-1][0], self.offsets[self._word_end(end - 1)][1])
        return Pieces(self.ids[start:end], self.tokens[start:end], offsets, self.word_map[start:end], self.positions)

    def _word_start(self, index: int) -> int:
        """The first piece of the word holding piece ``index``."""
        while index > 0 and self.word_map[index - 1] == self.word_map[index]:
            index -= 1
        return index

    def _word_end(self, index: int) -> int:
        """The last piece of the word holding piece ``index``."""
        while index + 1 < len(self.word_map) and self.word_map[index + 1] == self.word_map[index]:
            index += 1
        return index


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace from a token's span (``Ġfun`` covers ``fun``, not `` fun``)."""
    s, e = start, end
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if s < e else (start, end)


class NlpTokenizer:
    """Tokenizes texts and text pairs into model inputs; immutable once built."""

    def __init__(
        self,
        kind: str,
        backend: Tokenizer,
        specials: SpecialTokens,
        special_ids: dict[str, int],
        options: TokenizerOptions,
        *,
        word_per_token: bool = False,
        byte_fallback: bool = False,
    ) -> None:
        self.kind = kind
        self.options = options
        self.specials = specials
        self._backend = backend
        self._ids = special_ids
        # Elasticsearch maps each sentencepiece token to its own "word"; WordPiece and BPE
        # tokens map to the whitespace/punctuation-delimited word they came from.
        self._word_per_token = word_per_token
        # Added tokens come back as the matched text (" <mask>" when lstrip); name them canonically.
        # Unknown pieces keep their text as Elasticsearch shows them ("▁", "🏁").
        self._added = {i: name for name, i in special_ids.items() if name != specials.unk}
        self._byte_fallback = byte_fallback
        self._unk_id = special_ids.get(specials.unk)
        self._vocab = backend.get_vocab(with_added_tokens=True) if byte_fallback else {}

    # -- what callers need to know about the vocabulary ------------------------------------
    @property
    def mask_token(self) -> str:
        return self.specials.mask

    @property
    def mask_token_id(self) -> int | None:
        return self._ids.get(self.specials.mask)

    @property
    def pad_token(self) -> str:
        return self.specials.pad

    @property
    def pad_token_id(self) -> int | None:
        return self._ids.get(self.specials.pad)

    def special_id(self, token: str) -> int | None:
        """The id of a special token, or None when the vocabulary lacks it."""
        return self._ids.get(token)

    @property
    def vocabulary_size(self) -> int:
        return int(self._backend.get_vocab_size(with_added_tokens=True))

    def with_options(
        self, *, truncate: Truncate | str | None = None, span: int | None = None, max_windows: int | None = None
    ) -> NlpTokenizer:
        """A tokenizer sharing this backend with a request's ``truncate``/``span`` overrides (or a bound on
        the windows a document may take)."""
        wanted = {"max_windows": max_windows, "span": span,
                  "truncate": None if truncate is None else Truncate(truncate)}
        changes = {name: value for name, value in wanted.items()
                   if value is not None and value != getattr(self.options, name)}
        if not changes:  # what nearly every request asks: no clone (a request's hot path)
            return self
        clone = object.__new__(NlpTokenizer)
        clone.__dict__.update(self.__dict__)
        clone.options = dataclasses.replace(self.options, **changes)  # type: ignore[arg-type]
        return clone

    # -- tokenization ---------------------------------------------------------------------
    def pieces(self, text: str, *, positions: bool = True) -> Pieces:
        """Token ids, strings, trimmed offsets into ``text`` and the token-to-word map.

        Without ``positions`` the strings and offsets are left empty: a task that reads only the model's output
        (an embedding, a class) never looks at them, and building them is most of this method's Python work
        (a third of a 256-token document's tokenization)."""
        enc = self._backend.encode(text, add_special_tokens=False)
        ids = list(enc.ids)
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        if positions or (self._byte_fallback and self._unk_id in ids):  # byte fallback re-spells unknown pieces
            tokens = [self._added.get(i, t) for i, t in zip(ids, enc.tokens, strict=True)]
            offsets = [_trim(text, s, e) for s, e in enc.offsets]
            if self._byte_fallback and self._unk_id in ids:
                ids, tokens, offsets = self._bytes_for_unknown(text, ids, tokens, offsets)
            if not positions:
                tokens, offsets = [], []
        if self._word_per_token:
            word_map = list(range(len(ids)))
        else:
            word_map, last, counter = [], object(), -1
            for word in enc.word_ids:
                if word is None or word != last:
                    counter += 1
                last = word
                word_map.append(counter)
        return Pieces(ids, tokens, offsets, word_map, positions)

    def _bytes_for_unknown(
        self, text: str, ids: list[int], tokens: list[str], offsets: list[tuple[int, int]]
    ) -> tuple[list[int], list[str], list[tuple[int, int]]]:
        """Spell an unknown piece as ``<0xNN>`` byte tokens, as Elasticsearch's DeBERTa tokenizer does
        even when the vocabulary lacks some byte tokens (those keep the unknown token's id)."""
        out_ids: list[int] = []
        out_tokens: list[str] = []
        out_offsets: list[tuple[int, int]] = []
        for i, token, span in zip(ids, tokens, offsets, strict=True):
            if i != self._unk_id or token == self.specials.unk or token == "\u2581":
                out_ids.append(i)
                out_tokens.append(token)
                out_offsets.append(span)
                continue
            for byte in token.encode("utf-8"):
                name = f"<0x{byte:02X}>"
                out_ids.append(self._vocab.get(name, i))
                out_tokens.append(name)
                out_offsets.append(span)
        return out_ids, out_tokens, out_offsets

    def encode(self, text: str, *, positions: bool = True) -> list[Encoding]:
        """One encoding, or several overlapping windows when ``span`` is set and it is too long; without
        ``positions``, encodings without token strings and offsets (see `pieces`)."""
        opts = self.options
        pieces = self.pieces(text, positions=positions)
        extra = self.specials.extra_single if opts.with_special_tokens else 0
        window = opts.max_sequence_length
        num_tokens = len(pieces.ids) + extra
        truncated = False
        if num_tokens > window:
            if opts.truncate is Truncate.NONE:
                if opts.span == NO_SPAN:
                    raise InputTooLarge(num_tokens, window)
            else:
                truncated = True
                pieces = pieces.cut(0, window - extra)
        if num_tokens <= window or opts.span == NO_SPAN:
            return [self._frame(pieces, None, 0, -1, truncated)]
        span = (window - extra) // 2 if opts.span == DEFAULT_SPAN else opts.span
        return [
            self._frame(pieces.cut(w.start, w.end), None, i, w.span_prev, truncated)
            for i, w in enumerate(split_windows(pieces.word_map, window - extra, span, max_windows=opts.max_windows))
        ]

    def encode_pair(self, first: str, second: str, *, positions: bool = True) -> list[Encoding]:
        """A text pair; with ``span`` set the second text is windowed and the first repeated."""
        opts = self.options
        if not opts.with_special_tokens:
            raise InvalidTokenizationInput("Unable to do sequence pair tokenization without special tokens")
        one, two = self.pieces(first, positions=positions), self.pieces(second, positions=positions)
        extra, limit = self.specials.extra_pair, opts.max_sequence_length
        num_tokens = len(one.ids) + len(two.ids) + extra
        truncated = False
        if num_tokens > limit and opts.span < 0:
            truncated = True
            if opts.truncate is Truncate.FIRST:
                if len(two.ids) > limit - extra:
                    raise InvalidTokenizationInput(_too_large_for("first", "second", len(two.ids), limit - extra))
                one = one.cut(0, limit - extra - len(two.ids))
            elif opts.truncate is Truncate.SECOND:
                if len(one.ids) > limit - extra:
                    raise InvalidTokenizationInput(_too_large_for("second", "first", len(one.ids), limit - extra))
                two = two.cut(0, limit - extra - len(one.ids))
            else:
                raise InputTooLarge(num_tokens, limit)
        if truncated or num_tokens < limit:
            return [self._frame(one, two, 0, -1, truncated)]
        room = limit - extra - len(one.ids)
        if room <= 0:
            raise InvalidTokenizationInput(
                "Unable to do sequence pair tokenization: the first sequence "
                f"[{len(one.ids) + extra} tokens] is longer than the max sequence length [{limit} tokens]"
            )
        span = room // 2 if opts.span == DEFAULT_SPAN else opts.span
        if span > room:
            raise InvalidTokenizationInput(
                "Unable to do sequence pair tokenization: the combined first sequence, span length and delimiting "
                f"tokens [{len(one.ids)} + {span} + {extra} = {len(one.ids) + span + extra} tokens] is longer than "
                f"the max sequence length [{limit} tokens]. Reduce the size of the [span] window."
            )
        return [
            self._frame(one, two.cut(w.start, w.end), i, w.span_prev, False)
            for i, w in enumerate(
                split_windows(two.word_map, room, span, refuse_stall=True, max_windows=opts.max_windows)
            )
        ]

    def _frame(self, one: Pieces, two: Pieces | None, index: int, span_prev: int, truncated: bool) -> Encoding:
        """Add the special tokens around one or two sequences."""
        ids: list[int] = []
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        seq_ids: list[int | None] = []
        token_map: list[int] = []

        positions = one.positions

        def special(name: str) -> None:
            ids.append(self._ids[name])
            if positions:
                tokens.append(name)
                offsets.append((0, 0))
            seq_ids.append(None)
            token_map.append(-1)

        def sequence(p: Pieces, seq: int) -> None:
            ids.extend(p.ids)
            tokens.extend(p.tokens)
            offsets.extend(p.offsets)
            seq_ids.extend([seq] * len(p.ids))
            token_map.extend(p.word_map)

        with_specials = self.options.with_special_tokens
        if with_specials:
            special(self.specials.cls)
        sequence(one, 0)
        if with_specials:
            special(self.specials.sep)
        if two is not None:
            if self.specials.double_sep_in_pair:
                special(self.specials.sep)
            sequence(two, 1)
            special(self.specials.sep)
        return Encoding(
            tuple(ids), tuple(tokens), tuple(offsets), tuple(seq_ids), tuple(token_map), index, span_prev, truncated
        )


def _too_large_for(truncate: str, other: str, length: int, limit: int) -> str:
    return (
        f"Attempting truncation [{truncate}] but input is too large for the {other} sequence. "
        f"The tokenized input length [{length}] exceeds the maximum sequence length [{limit}], "
        "when taking special tokens into account"
    )
