"""Traced test models load with torch.jit.load, have each task's output shape, and depend on their input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from inferd.importer import TaskType, trace_model
from tests.support.models import KINDS, NER_LABELS, VOCABULARY, TestModel, write_tiny_roberta

transformers = pytest.importorskip("transformers")

V = len(VOCABULARY)
HIDDEN = 32
SHORT = "hello world"
LONG = "the new york city bridge is close to the river and the old house"

# kind -> shape of the output for a batch of `b` texts padded to `s` tokens.
EXPECTED_SHAPES: dict[str, Callable[[int, int], tuple[int, ...]]] = {
    "echo": lambda b, s: (b, s, 4),
    "slow": lambda b, s: (b, s, 4),
    "text_embedding": lambda b, s: (b, HIDDEN),
    "text_classification": lambda b, s: (b, 2),
    "ner": lambda b, s: (b, s, len(NER_LABELS)),
    "fill_mask": lambda b, s: (b, s, V),
    "zero_shot_classification": lambda b, s: (b, 3),
    "question_answering": lambda b, s: (2, b, s),
    "text_similarity": lambda b, s: (b, 1),
    "text_expansion": lambda b, s: (b, V),
    "pass_through": lambda b, s: (b, s, HIDDEN),
}
PER_TOKEN = {"echo", "slow", "ner", "fill_mask", "pass_through"}


def encode(tokenizer: Any, texts: list[str]) -> tuple[Tensor, ...]:
    """Elasticsearch's four inputs for BERT: ids, mask, token types, positions from 0."""
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    ids = encoded["input_ids"]
    positions = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
    return ids, encoded["attention_mask"], encoded["token_type_ids"], positions


def real_part(kind: str, output: Tensor, row: int, length: int) -> Tensor:
    """One text's output without its padding positions."""
    if kind == "question_answering":
        return output[:, row, :length]
    if kind in PER_TOKEN:
        return output[row, :length]
    return output[row]


def run(model: TestModel, tokenizer: Any, texts: list[str]) -> tuple[Tensor, tuple[Tensor, ...]]:
    inputs = encode(tokenizer, texts)
    module = torch.jit.load(str(model.definition_path))
    with torch.no_grad():
        return module(*inputs), inputs


def test_every_kind_is_covered() -> None:
    assert set(KINDS) == set(EXPECTED_SHAPES)
    assert {task.value for task in TaskType} <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_output_has_the_task_shape_and_padding_does_not_change_it(
    kind: str, model_of: Callable[[str], TestModel], tokenizer: Any
) -> None:
    model = model_of(kind)
    assert model.definition_path.is_file() and model.size_bytes == model.definition_path.stat().st_size
    batch, inputs = run(model, tokenizer, [SHORT, LONG])
    assert tuple(batch.shape) == EXPECTED_SHAPES[kind](2, inputs[0].shape[1])
    assert batch.dtype == torch.float32 and torch.isfinite(batch).all()

    alone, alone_inputs = run(model, tokenizer, [SHORT])
    length = alone_inputs[0].shape[1]
    assert length < inputs[0].shape[1]  # SHORT was padded in the batch
    in_batch, on_its_own = real_part(kind, batch, 0, length), real_part(kind, alone, 0, length)
    torch.testing.assert_close(in_batch, on_its_own, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_output_depends_on_the_input(kind: str, model_of: Callable[[str], TestModel], tokenizer: Any) -> None:
    model = model_of(kind)
    first, _ = run(model, tokenizer, ["the cat runs"])
    second, _ = run(model, tokenizer, ["a dog runs"])
    assert first.shape == second.shape
    assert not torch.allclose(first, second, atol=1e-4)


def test_echo_returns_its_inputs(model_of: Callable[[str], TestModel], tokenizer: Any) -> None:
    output, inputs = run(model_of("echo"), tokenizer, [SHORT, LONG])
    for channel, expected in enumerate(inputs):
        assert torch.equal(output[..., channel], expected.to(torch.float32))


def test_long_inputs_up_to_the_max_sequence_length_trace_correctly(model_of: Callable[[str], TestModel]) -> None:
    """Tracing pads to 128 tokens; the graph must still serve the full 512 the config allows."""
    model = model_of("text_embedding")
    assert model.config["inference_config"]["text_embedding"]["tokenization"]["bert"]["max_sequence_length"] == 512
    ids = torch.randint(5, V, (1, 512), generator=torch.Generator().manual_seed(1))
    inputs = (ids, torch.ones_like(ids), torch.zeros_like(ids), torch.arange(512).unsqueeze(0))
    traced = torch.jit.load(str(model.definition_path))(*inputs)
    torch.testing.assert_close(traced, _eager_embedding(model, inputs), rtol=1e-4, atol=1e-5)


def test_text_embedding_is_mean_pooled_and_normalised_like_sentence_transformers(
    model_of: Callable[[str], TestModel], tokenizer: Any
) -> None:
    model = model_of("text_embedding")
    traced, inputs = run(model, tokenizer, [SHORT, LONG])
    torch.testing.assert_close(traced, _eager_embedding(model, inputs), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(traced.norm(dim=-1), torch.ones(2))


def test_text_expansion_is_the_max_of_log_relu_masked_lm_logits(
    model_of: Callable[[str], TestModel], tokenizer: Any
) -> None:
    model = model_of("text_expansion")
    traced, inputs = run(model, tokenizer, [SHORT, LONG])
    logits = _hf(model, "AutoModelForMaskedLM")(*inputs)[0]
    weights = torch.log1p(torch.relu(logits)) * inputs[1].unsqueeze(-1)
    torch.testing.assert_close(traced, weights.amax(dim=1), rtol=1e-4, atol=1e-5)
    assert (traced >= 0).all() and (traced > 0).any()


def test_question_answering_stacks_start_and_end_logits(model_of: Callable[[str], TestModel], tokenizer: Any) -> None:
    model = model_of("question_answering")
    traced, inputs = run(model, tokenizer, [SHORT, LONG])
    start, end = _hf(model, "AutoModelForQuestionAnswering")(*inputs)[:2]
    torch.testing.assert_close(traced, torch.stack([start, end]), rtol=1e-4, atol=1e-5)


def test_roberta_traces_with_two_inputs_and_uploads_merges(tmp_path: Path) -> None:
    hf_dir = write_tiny_roberta(TaskType.TEXT_CLASSIFICATION, tmp_path / "hf")
    traced = trace_model(hf_dir, "text_classification", tmp_path / "traced")
    module = torch.jit.load(str(traced.definition_path))
    assert [argument.name for argument in module.forward.schema.arguments][1:] == ["input_ids", "attention_mask"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(hf_dir))
    encoded = tokenizer(["the cat", "the dog sat on it"], padding=True, return_tensors="pt")
    output = module(encoded["input_ids"], encoded["attention_mask"])
    expected = _load(hf_dir, "AutoModelForSequenceClassification")(
        input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]
    )[0]
    torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-5)
    assert traced.config["inference_config"]["text_classification"]["tokenization"] == {
        "roberta": {
            "add_prefix_space": False, "with_special_tokens": True, "max_sequence_length": 128, "truncate": "first"
        }  # fmt: skip
    }
    assert traced.vocabulary["merges"][:3] == ["Ġ t", "h e", "Ġt he"]
    assert traced.vocabulary["vocabulary"][:4] == ["<s>", "<pad>", "</s>", "<unk>"]


def _hf(model: TestModel, auto_class: str) -> Callable[..., Any]:
    """The eager Hugging Face model the test model was traced from, called with the four inputs."""
    assert model.hf_dir is not None
    hf_model = _load(model.hf_dir, auto_class)

    def call(ids: Tensor, mask: Tensor, types: Tensor, positions: Tensor) -> Any:
        with torch.no_grad():
            return hf_model(input_ids=ids, attention_mask=mask, token_type_ids=types, position_ids=positions)

    return call


def _load(hf_dir: Path, auto_class: str) -> Any:
    logging_utils = transformers.utils.logging
    bars = logging_utils.is_progress_bar_enabled()
    logging_utils.disable_progress_bar()
    try:
        return getattr(transformers, auto_class).from_pretrained(str(hf_dir), return_dict=False).eval()
    finally:
        if bars:
            logging_utils.enable_progress_bar()


def _eager_embedding(model: TestModel, inputs: tuple[Tensor, ...]) -> Tensor:
    hidden = _hf(model, "AutoModel")(*inputs)[0]
    mask = inputs[1].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
    return torch.nn.functional.normalize(mean, dim=-1)
