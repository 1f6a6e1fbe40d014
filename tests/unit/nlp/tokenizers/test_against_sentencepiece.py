"""xlm_roberta and deberta_v2 (Unigram from uploaded scores) segment text as sentencepiece does.

A small Unigram model is trained inside the test, so the reference is sentencepiece's own C++
implementation, independent of the Hugging Face library inferd builds on.
"""

from __future__ import annotations

import io
import random

import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer
from tests.unit.nlp.tokenizers.strings import WORDS, varied_strings

sentencepiece = pytest.importorskip("sentencepiece")


@pytest.fixture(scope="module")
def processor():  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    corpus = [" ".join(rng.choice(WORDS[:40]) for _ in range(rng.randint(3, 12))) for _ in range(2000)]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, vocab_size=120, model_type="unigram",
        character_coverage=1.0, normalization_rule_name="nmt_nfkc", minloglevel=2,
    )
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


def uploaded(processor, specials: list[str]) -> tuple[list[str], list[float]]:  # type: ignore[no-untyped-def]
    """What eland would upload: the special tokens, then the pieces with their scores."""
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    scores = [processor.get_score(i) for i in range(processor.get_piece_size())]
    kept = [(p, s) for p, s in zip(pieces, scores, strict=True) if p not in ("<unk>", "<s>", "</s>")]
    return specials + [p for p, _ in kept], [0.0] * len(specials) + [s for _, s in kept]


def texts(count: int) -> list[str]:
    """Words of many scripts (most unseen in training), casing and punctuation, with runs of spaces."""
    rng = random.Random(13)
    made = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 10))]
        made.append(rng.choice([" ", "  ", ", ", " - "]).join(words).strip())
    return made + [text for text in varied_strings(60, 13) if text.isprintable()]


TEXTS = texts(200)


@pytest.mark.parametrize(
    "kind, specials",
    [("xlm_roberta", ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]),
     ("deberta_v2", ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"])],
)
def test_pieces_match_sentencepiece(processor, kind: str, specials: list[str]) -> None:  # type: ignore[no-untyped-def]
    vocabulary, scores = uploaded(processor, specials)
    tokenizer = build_tokenizer(kind, vocabulary, scores=scores,
                                options=TokenizerOptions(with_special_tokens=False, max_sequence_length=4096))
    assert len(TEXTS) > 150
    index = {piece: position for position, piece in enumerate(vocabulary)}
    unknown = index[specials[3]]
    mismatched = []
    for text in TEXTS:
        if any(special in text for special in specials):
            continue  # special tokens written in the text are kept whole, which sentencepiece does not know
        pieces = processor.encode_as_pieces(text)
        encoding = tokenizer.encode(text)[0]
        if kind == "deberta_v2":  # unknown characters are spelt as byte tokens there: compare known pieces only
            pieces = [piece for piece in pieces if piece in index]
            tokens = [token for token in encoding.tokens if not token.startswith("<0x") and token in index]
            if tokens != pieces:
                mismatched.append(text)
            continue
        if list(encoding.tokens) != pieces or list(encoding.token_ids) != [index.get(p, unknown) for p in pieces]:
            mismatched.append(text)
    assert mismatched == []
