"""The worker's compute step with real TorchScript modules: a document's result never depends on its batchmates."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from inferd.nlp import TokenizerOptions, build_tokenizer
from inferd.runtime.engine import ModelRunner
from inferd.runtime.protocol import InferRequest
from tests.support.models import VOCABULARY, EchoModel


class SpanScores(nn.Module):
    """Question answering logits, [2, rows, tokens], that grow with the token id: the answer is a checkable span."""

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
    ) -> Tensor:
        scores = input_ids.to(torch.float32) * attention_mask
        return torch.stack([scores, scores])


def runner(module: nn.Module, task_type: str, max_batch_rows: int = 8) -> ModelRunner:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        scripted = torch.jit.script(module.eval())
    tokenizer = build_tokenizer("bert", VOCABULARY, options=TokenizerOptions(do_lower_case=True))
    return ModelRunner(scripted, task_type, tokenizer, VOCABULARY, max_batch_rows)


def results(model: ModelRunner, requests: list[tuple[list[str], dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    outcomes = model.run([InferRequest(index, texts, options) for index, (texts, options) in enumerate(requests)])
    assert all(outcome.failure is None for outcome in outcomes), outcomes
    return [outcome.results for outcome in outcomes]


@pytest.mark.parametrize(("task_type", "module", "options"), [
    ("pass_through", EchoModel(), {}),
    ("question_answering", SpanScores(), {"question": "who likes music", "max_answer_length": 5}),
])
def test_a_result_is_the_same_alone_and_batched_with_longer_documents(
    task_type: str, module: nn.Module, options: dict[str, Any]
) -> None:
    model = runner(module, task_type)
    short, long = "the cat", "mary and john like music and the big red car"
    (alone,) = results(model, [([short], options)])
    batched = results(model, [([short], options), ([long], options), ([short, long], options)])
    assert batched[0] == alone
    assert batched[2][0] == alone[0]
    assert batched[1] == [batched[2][1]]


def test_pass_through_rows_are_the_documents_own_tokens() -> None:
    model = runner(EchoModel(), "pass_through")
    (first, second), = results(model, [(["the cat", "mary and john like music"], {})])
    assert len(first["predicted_value"]) == len(["[CLS]", "the", "cat", "[SEP]"])
    assert [row[1] for row in first["predicted_value"]] == [1.0] * 4  # attention mask: no padding row kept
    assert len(second["predicted_value"]) == 7
