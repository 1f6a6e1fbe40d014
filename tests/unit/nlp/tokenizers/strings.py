"""Seeded generators of varied test strings: accents, CJK, emoji, whitespace runs, control characters."""

from __future__ import annotations

import random

WORDS = [
    "the", "Elasticsearch", "running", "unbelievable", "naïve", "café", "Zürich", "São", "Paulo", "résumé",
    "東京", "北京大学", "日本語", "テスト", "ひらがな", "한국어", "Привет", "мир", "عربي", "שלום", "ελληνικά",
    "😀", "🇸🇴", "🏁", "👩‍💻", "3.14", "1,000", "e-mail", "don't", "U.S.A.", "(parens)", "[brackets]", "#tag",
    "@user", "$100", "50%", "a/b", "x_y", "ﬁ", "Å", "Å", "ß", "İstanbul", "ǅ", "\u00ad", "\u200b", "co\u0301te",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", " \n\t ", "\u3000", "\u00a0", "", ",", ". ", "!", "?", "\u2028"]


def varied_strings(count: int, seed: int) -> list[str]:
    """Sentences built from ``WORDS`` with varied separators, plus a few edge strings."""
    rng = random.Random(seed)
    out = ["", " ", "   \t\n ", "a", "[MASK]", "hello [MASK] world", "x" * 150]
    while len(out) < count:
        parts = [rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(rng.randint(1, 12))]
        text = "".join(parts)
        if rng.random() < 0.3:
            text = text.upper()
        out.append(text)
    return out


def random_unicode(rng: random.Random, max_length: int = 60) -> str:
    """Any code points, surrogates excluded, weighted towards awkward ranges."""
    ranges = [(0x00, 0x7F), (0x80, 0x24F), (0x300, 0x36F), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0x1F300, 0x1FAFF),
              (0x2000, 0x206F), (0xFE00, 0xFFFF), (0x0, 0x10FFFF)]  # fmt: skip
    chars = []
    for _ in range(rng.randint(0, max_length)):
        lo, hi = rng.choice(ranges)
        cp = rng.randint(lo, hi)
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0x20
        chars.append(chr(cp))
    return "".join(chars)
