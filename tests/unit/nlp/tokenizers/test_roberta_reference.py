"""inferd's roberta tokenizer against OpenAI's GPT-2 byte-level BPE algorithm (encoder.py), written out
here in plain Python: an implementation independent of the Rust `tokenizers` library."""

from __future__ import annotations

import pytest
import regex

from inferd.nlp import TokenizerOptions, build_tokenizer
from tests.support.models import ROBERTA_MERGES
from tests.unit.nlp.tokenizers.strings import varied_strings

# GPT-2's pre-tokenisation pattern.
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode() -> dict[int, str]:
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, characters), strict=True))


BYTE_SYMBOLS = bytes_to_unicode()
RANKS = {merge: rank for rank, merge in enumerate(ROBERTA_MERGES)}


def bpe(word: str) -> list[str]:
    symbols = list(word)
    while len(symbols) > 1:
        pairs = [(RANKS.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:], strict=False))]
        rank, i = min(pairs)
        if rank == float("inf"):
            break
        first, second = symbols[i], symbols[i + 1]
        merged, j = [], 0
        while j < len(symbols):  # merge every occurrence of the pair, left to right
            if j < len(symbols) - 1 and (symbols[j], symbols[j + 1]) == (first, second):
                merged.append(first + second)
                j += 2
            else:
                merged.append(symbols[j])
                j += 1
        symbols = merged
    return symbols


def reference(text: str, add_prefix_space: bool) -> list[str]:
    if add_prefix_space and text and not text.startswith(" "):
        text = " " + text
    return [
        piece
        for word in PATTERN.findall(text)
        for piece in bpe("".join(BYTE_SYMBOLS[byte] for byte in word.encode("utf-8")))
    ]


VOCABULARY = ["<s>", "<pad>", "</s>", "<unk>", *BYTE_SYMBOLS.values(), *("".join(m) for m in ROBERTA_MERGES), "<mask>"]
TEXTS = [text for text in varied_strings(300, 99) + ["the cats sat", " leading space", "don't stop", "hello  world"]
         if "<mask>" not in text and "[MASK]" not in text]


@pytest.mark.parametrize("add_prefix_space", [False, True])
def test_tokens_match_gpt2_byte_level_bpe(add_prefix_space: bool) -> None:
    tokenizer = build_tokenizer(
        "roberta", VOCABULARY, merges=[" ".join(m) for m in ROBERTA_MERGES],
        options=TokenizerOptions(with_special_tokens=False, add_prefix_space=add_prefix_space, max_sequence_length=4096),
    )
    index = {token: position for position, token in enumerate(VOCABULARY)}
    mismatched = []
    for text in TEXTS:
        expected = reference(text, add_prefix_space)
        encoding = tokenizer.encode(text)[0]
        if list(encoding.tokens) != expected or list(encoding.token_ids) != [index[t] for t in expected]:
            mismatched.append((text, expected, encoding.tokens))
    assert len(TEXTS) > 250
    assert mismatched == [], mismatched[:2]
