"""``question_answering``: the best answer span of the context, over all its windows.

Each input is ``[CLS] question [SEP] context-window [SEP]``; the model answers a start and
an end logit per token. As Elasticsearch's ``QuestionAnsweringProcessor``, per window:
the logits outside the context (except ``[CLS]``) are masked to -10000 before a softmax,
``[CLS]`` is then zeroed, and every ``start <= end < start + max_answer_length`` pair is
scored ``p_start * p_end``. The best pairs over all windows win; answer offsets are those
of the words holding the first and last answer tokens, so a sub-word answer never cuts a
word (Elasticsearch's tokens carry word offsets).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import option_int, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tokenizers.options import Encoding

DEFAULT_MAX_ANSWER_LENGTH = 15
_MASKED_LOGIT = -10000.0


@dataclass(frozen=True, slots=True)
class ScoreAndIndices:
    """A candidate answer: token positions relative to the context start, in window ``span``."""

    start_token: int
    end_token: int
    score: float
    span_index: int


def normalize_with(values: np.ndarray, keep: Callable[[int], bool]) -> np.ndarray:
    """Softmax after replacing the values at positions ``keep`` rejects (``normalizeWith``)."""
    masked = np.array([v if keep(i) else _MASKED_LOGIT for i, v in enumerate(values)], dtype=np.float64)
    normalized: np.ndarray = np.exp(masked - np.log(np.exp(masked).sum()))
    return normalized


def top_scores(
    start: np.ndarray,
    end: np.ndarray,
    num_answers: int,
    collect: Callable[[ScoreAndIndices], None],
    seq2_start: int,
    token_size: int,
    max_answer_length: int,
    span_index: int,
) -> None:
    """Feeds the candidate answers of one window to ``collect`` (ES ``topScores``)."""
    if len(start) != len(end):
        raise InvalidModelOutput(
            "question answering result has invalid dimensions; possible start tokens "
            f"[{len(start)}] must equal possible end tokens [{len(end)}]"
        )

    def in_context(i: int) -> bool:
        return i == 0 or seq2_start <= i < token_size - 1

    start_p = normalize_with(start, in_context)
    end_p = normalize_with(end, in_context)
    start_p[0] = end_p[0] = 0.0
    if num_answers == 1:
        best = ScoreAndIndices(0, 0, 0.0, span_index)
        for i in range(seq2_start, token_size):
            if start_p[i] == 0:
                continue
            for j in range(i, min(i + max_answer_length, token_size)):
                score = float(start_p[i] * end_p[j])
                if score > best.score:
                    best = ScoreAndIndices(i - seq2_start, j - seq2_start, score, span_index)
        collect(best)
        return
    for i in range(seq2_start, token_size):
        for j in range(i, min(i + max_answer_length, token_size)):
            collect(ScoreAndIndices(i - seq2_start, j - seq2_start, float(start_p[i] * end_p[j]), span_index))


class TopAnswers:
    """Keeps the ``size`` best candidates; an equal score never displaces an earlier one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[float, int, ScoreAndIndices]] = []
        self._count = 0

    def add(self, candidate: ScoreAndIndices) -> None:
        self._count += 1
        entry = (candidate.score, -self._count, candidate)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif candidate.score > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def best_first(self) -> list[ScoreAndIndices]:
        return [entry[2] for entry in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]


def _word_bounds(encoding: Encoding, index: int) -> tuple[int, int]:
    """Offsets of the whole word holding token ``index`` (tokens sharing its ``token_map``)."""
    word, sequence = encoding.token_map[index], encoding.sequence_ids[index]
    first = last = index
    while first > 0 and encoding.token_map[first - 1] == word and encoding.sequence_ids[first - 1] == sequence:
        first -= 1
    while (
        last + 1 < len(encoding)
        and encoding.token_map[last + 1] == word
        and encoding.sequence_ids[last + 1] == sequence
    ):
        last += 1
    return encoding.offsets[first][0], encoding.offsets[last][1]


def context_start(encoding: Encoding) -> int:
    """Index of the first context token (``seqPairOffset``)."""
    for i, sequence in enumerate(encoding.sequence_ids):
        if sequence == 1:
            return i
    raise InvalidModelOutput("question answering input has no context tokens")


def _start_end(output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(output, dtype=np.float64)
    if array.shape[0] != 2:
        raise InvalidModelOutput(
            "question answering result has invalid dimension, number of dimensions must be a multiple of 2 "
            f"found [{array.shape[0]}]"
        )
    return array[0].reshape(-1), array[1].reshape(-1)


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The answer in ``text`` (the context) from each window's ``(2, tokens)`` start/end logits."""
    if not outputs:
        raise InvalidModelOutput("question answering result has no data")
    if len(outputs) != len(encodings):
        raise InvalidModelOutput(
            f"question answering result has invalid dimensions; the number of spans [{len(outputs)}] "
            f"does not match batched token size [{len(encodings)}]"
        )
    longest = max(len(encoding) for encoding in encodings)
    max_answer_length = option_int(task_options, "max_answer_length", DEFAULT_MAX_ANSWER_LENGTH)
    if max_answer_length < 1:
        raise InvalidTaskOptions(f"[max_answer_length] must be greater than 0; provided [{max_answer_length}]")
    # No answer is longer than a window, and there are no more candidates than start/end pairs in a
    # window: clamping both bounds the work whatever a request asks for.
    max_answer_length = min(max_answer_length, longest)
    num_top_classes = min(option_int(task_options, "num_top_classes", 0), longest * max_answer_length)
    top = TopAnswers(max(num_top_classes, 1))
    for span_index, (encoding, output) in enumerate(zip(encodings, outputs, strict=True)):
        start, end = _start_end(output)
        top_scores(start, end, top.size, top.add, context_start(encoding), len(encoding), max_answer_length, span_index)
    answers = []
    for candidate in top.best_first():
        encoding = encodings[candidate.span_index]
        seq2_start = context_start(encoding)
        start_offset = _word_bounds(encoding, seq2_start + candidate.start_token)[0]
        end_offset = _word_bounds(encoding, seq2_start + candidate.end_token)[1]
        answers.append(
            {
                "answer": text[start_offset:end_offset],
                "score": candidate.score,
                "start_offset": start_offset,
                "end_offset": end_offset,
            }
        )
    best = answers[0]
    result: dict[str, Any] = {
        results_field(task_options): best["answer"],
        "start_offset": best["start_offset"],
        "end_offset": best["end_offset"],
    }
    if num_top_classes > 0:
        result["top_classes"] = answers
    result["prediction_probability"] = best["score"]
    return with_truncation(result, encodings)
