"""The modules that are traced: a Hugging Face model behind Elasticsearch's input interface, plus a task head.

Elasticsearch (and inferd) call a model positionally with `(input_ids, attention_mask,
token_type_ids, position_ids)` for BERT-style tokenizers and with `(input_ids, attention_mask)` for
the RoBERTa family, whose positions are offset past the padding index. eland's wrappers adapt a
model to that call and reduce its tuple output to the one tensor each task reads; these mirror them.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

_OPTIONAL_INPUTS = ("token_type_ids", "position_ids")


class FirstOutput(nn.Module):
    """The model's first output: logits, or the last hidden state of a bare encoder."""

    def forward(self, outputs: tuple[Tensor, ...], attention_mask: Tensor) -> Tensor:
        return outputs[0]


class StackedLogits(nn.Module):
    """Question answering: start and end logits stacked into one tensor [2, batch, seq], as eland does."""

    def forward(self, outputs: tuple[Tensor, ...], attention_mask: Tensor) -> Tensor:
        return torch.stack([outputs[0], outputs[1]], dim=0)


class SentenceEmbedding(nn.Module):
    """Text embedding: the encoder's token embeddings through the sentence-transformers layers, [batch, dim]."""

    def __init__(self, layers: tuple[nn.Module, ...]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, outputs: tuple[Tensor, ...], attention_mask: Tensor) -> Tensor:
        embedding = outputs[0]
        for layer in self.layers:
            embedding = layer(embedding, attention_mask)
        return embedding


class SparseExpansion(nn.Module):
    """Text expansion (ELSER/SPLADE): max over the sequence of log(1 + relu(MLM logits)), [batch, vocab].

    Padding positions are masked out so a padded text expands exactly as the unpadded one.
    """

    def forward(self, outputs: tuple[Tensor, ...], attention_mask: Tensor) -> Tensor:
        weights = torch.log1p(torch.relu(outputs[0])) * attention_mask.unsqueeze(-1).to(outputs[0].dtype)
        return weights.amax(dim=1)


class FourInputModel(nn.Module):
    """BERT-style interface: all four inputs, dropping those the model does not take (DistilBERT's)."""

    def __init__(self, model: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.head = head
        self.accepted = accepted_inputs(model)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
    ) -> Tensor:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.accepted:
            inputs["token_type_ids"] = token_type_ids
        if "position_ids" in self.accepted:
            inputs["position_ids"] = position_ids
        result: Tensor = self.head(_as_tuple(self.model(**inputs)), attention_mask)
        return result


class TwoInputModel(nn.Module):
    """RoBERTa-style interface: the model computes its own (offset) positions."""

    def __init__(self, model: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.head = head

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask)
        result: Tensor = self.head(_as_tuple(outputs), attention_mask)
        return result


def accepted_inputs(model: nn.Module) -> frozenset[str]:
    """Which of the optional inputs the model's forward takes by name."""
    parameters = inspect.signature(model.forward).parameters
    return frozenset(name for name in _OPTIONAL_INPUTS if name in parameters)


def _as_tuple(outputs: Any) -> tuple[Tensor, ...]:
    return outputs if isinstance(outputs, tuple) else (outputs,)
