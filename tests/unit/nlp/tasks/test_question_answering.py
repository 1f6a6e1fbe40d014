"""Cases ported from Elasticsearch's ``QuestionAnsweringProcessorTests`` (elastic/elasticsearch,
x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/QuestionAnsweringProcessorTests.java).

The Java test tokenizes with ``TEST_CASED_VOCAB``; the same tokens are built here by hand:
``[CLS] is Elastic ##search fun ? [SEP]`` (7 tokens) then the 11 context tokens and ``[SEP]``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inferd.nlp.tasks import PROCESSORS
from inferd.nlp.tasks.question_answering import ScoreAndIndices, TopAnswers, top_scores

from .encodings import encode

START = np.array([1.6665655, -7.988514, -8.249796, .529973, -8.46703, -8.345977, -8.459701, -8.260341, .071103,
                  -7.339133, -7.647086, -8.165343, -8.277936, -8.156116, -8.104215, -8.45849, -8.249917, -2.0896196,
                  -0.67172474])  # fmt: skip
END = np.array([1.0593028, -8.276232, -7.9352865, -8.340191, -8.326643, -8.225507, -8.548992, -8.50256, -8.716394,
                -8.0558195, -8.4110565, -6.564298, -8.570332, .01, -7.2465587, .6000237, -8.045577, -6.3548584,
                -3.5642238])  # fmt: skip
QUESTION = "is Elasticsearch fun?"
CONTEXT = "Pancake day is fun with Elasticsearch and little red car"
Q_WORDS = [("is", ["is"]), ("Elasticsearch", ["Elastic", "##search"]), ("fun", ["fun"]), ("?", ["?"])]
C_WORDS = [(w, [w]) for w in ("Pancake", "day", "is", "fun", "with")] + [("Elasticsearch", ["Elastic", "##search"])]
C_WORDS += [(w, [w]) for w in ("and", "little", "red", "car")]
ENCODING = encode(QUESTION, Q_WORDS, pair=(CONTEXT, C_WORDS))


def test_processor() -> None:  # testProcessor
    assert len(ENCODING) == len(END) and ENCODING.sequence_ids.index(1) == 7
    options = {"question": QUESTION, "num_top_classes": 1, "max_answer_length": 10, "results_field": "prediction"}
    result = PROCESSORS["question_answering"](options, CONTEXT, [ENCODING], [np.stack([START, END])])
    assert result["prediction_probability"] == pytest.approx(0.05264939, abs=1e-6)
    assert (result["start_offset"], result["end_offset"]) == (8, 48)
    assert result["prediction"] == CONTEXT[8:48]
    assert result["top_classes"] == [
        {"answer": CONTEXT[8:48], "score": result["prediction_probability"], "start_offset": 8, "end_offset": 48}
    ]
    assert "is_truncated" not in result


def test_top_scores_respects_answer_length() -> None:  # testTopScoresRespectsAnswerLength
    found: list[ScoreAndIndices] = []
    top_scores(START, END, 1, found.append, 8, len(START), 10, 0)
    assert found[-1].score == pytest.approx(0.05265336, abs=1e-6)
    assert (found[-1].start_token, found[-1].end_token) == (0, 7)
    top_scores(START, END, 1, found.append, 8, len(START), 6, 0)
    assert found[-1].score == pytest.approx(0.0291865, abs=1e-6)
    assert (found[-1].start_token, found[-1].end_token) == (0, 5)


def test_top_scores_more_than_one() -> None:  # testTopScoresMoreThanOne
    top = TopAnswers(2)
    top_scores(START, END, 2, top.add, 8, len(START), 10, 0)
    best = top.best_first()
    assert len(best) == 2
    assert best[0].score == pytest.approx(0.05265336, abs=1e-6) and (best[0].start_token, best[0].end_token) == (0, 7)
    assert best[1].score == pytest.approx(0.0291865, abs=1e-6) and (best[1].start_token, best[1].end_token) == (0, 5)


def test_best_answer_over_spans_and_sub_word_bounds() -> None:  # spans as Elasticsearch merges them
    weak = np.stack([START - 5, END - 5])
    second = replace(ENCODING, span_index=1, is_truncated=True)
    start, end = np.full(19, -9.0), np.full(19, -9.0)
    start[12], end[12] = 9.0, 9.0  # "Elastic" only: the answer widens to the whole word
    options = {"num_top_classes": 2}
    result = PROCESSORS["question_answering"](options, CONTEXT, [ENCODING, second], [weak, np.stack([start, end])])
    assert result["predicted_value"] == "Elasticsearch"
    assert (result["start_offset"], result["end_offset"]) == (24, 37)
    assert len(result["top_classes"]) == 2 and result["is_truncated"] is True
    assert "top_classes" not in PROCESSORS["question_answering"]({}, CONTEXT, [ENCODING], [np.stack([START, END])])
