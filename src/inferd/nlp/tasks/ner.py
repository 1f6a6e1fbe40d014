"""``ner``: IOB token labels aggregated into entities, as Elasticsearch's ``NerProcessor``.

Steps, each as Elasticsearch does them:

1. soft-max every token's label logits;
2. merge the sub-word tokens of one word (same ``token_map`` entry) by averaging their
   probabilities, then tag the word with the arg-max label (special tokens are skipped);
3. group tagged words into entities: an entity starts at any non-``O`` word and takes the
   following words of the same entity type until a ``B`` tag or another type; its
   probability is the mean of its words', its span runs from the first word's start to
   the last word's end in the original text (lower-cased when ``do_lower_case``);
4. annotate the text: ``[Josh](PER&Josh)``, spaces in the value written as ``+``.

A spanned document is read whole, going further than Elasticsearch (whose NerProcessor reads only
the first window): each word is tagged in the window where it sits farthest from an edge, so the
overlap between windows gives every word its full context, and entities are grouped over the whole
document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inferd.nlp.tasks.base import do_lower_case, results_field, with_truncation
from inferd.nlp.tasks.errors import InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tasks.scoring import argmax, softmax
from inferd.nlp.tokenizers.options import Encoding


@dataclass(frozen=True, slots=True)
class IobTag:
    """A label such as ``B_PER`` / ``I-ORG`` / ``O``; ``entity`` is its upper-cased type."""

    tag: str
    entity: str

    @classmethod
    def parse(cls, tag: str) -> IobTag:
        upper = tag.upper()
        if upper[:2] in ("B-", "I-", "B_", "I_"):
            return cls(tag, upper[2:])
        if upper == "O":
            return cls(tag, upper)
        raise InvalidTaskOptions(f"classification label [{tag}] is not an entity I-O-B tag.")

    @property
    def is_beginning(self) -> bool:
        return self.tag[:1] in ("b", "B")

    @property
    def is_none(self) -> bool:
        return self.tag in ("o", "O")


DEFAULT_IOB_TAGS = ("O", "B_MISC", "I_MISC", "B_PER", "I_PER", "B_ORG", "I_ORG", "B_LOC", "I_LOC")


@dataclass(frozen=True, slots=True)
class TaggedToken:
    """One word of the input with its label and probability; offsets into the text."""

    start: int
    end: int
    tag: IobTag
    score: float
    word: int = -1
    margin: int = 0
    """Tokens between the word and the nearer edge of its window: more context on both sides."""


def iob_map(classification_labels: Sequence[str] | None) -> list[IobTag]:
    """The tag of each output column: the configured labels, else the default CoNLL order."""
    labels = list(classification_labels or DEFAULT_IOB_TAGS)
    errors: list[str] = []
    seen: set[IobTag] = set()
    tags: list[IobTag] = []
    for label in labels:
        try:
            tag = IobTag.parse(label)
        except InvalidTaskOptions as error:
            errors.append(str(error))
            continue
        if tag in seen:
            errors.append(f"the classification label [{label}] is duplicated in the list [{', '.join(labels)}]")
        seen.add(tag)
        tags.append(tag)
    if errors:
        raise InvalidTaskOptions("Validation Failed: " + "".join(f"{i}: {e};" for i, e in enumerate(errors, 1)))
    return tags


def tag_tokens(encoding: Encoding, probabilities: np.ndarray, tags: Sequence[IobTag]) -> list[TaggedToken]:
    """Step 2: one tagged word per run of tokens sharing a ``token_map`` entry."""
    tagged: list[TaggedToken] = []
    token_map = encoding.token_map
    start = 0
    while start < len(token_map):
        word = token_map[start]
        if word < 0:
            start += 1
            continue
        end = start
        while end + 1 < len(token_map) and token_map[end + 1] == word:
            end += 1
        scores = probabilities[start : end + 1, : len(tags)].mean(axis=0)
        best = argmax(scores)
        margin = min(start, len(token_map) - 1 - end)
        tagged.append(
            TaggedToken(
                encoding.offsets[start][0], encoding.offsets[end][1], tags[best], float(scores[best]), word, margin
            )
        )
        start = end + 1
    return tagged


def merge_windows(windows: Sequence[Sequence[TaggedToken]]) -> list[TaggedToken]:
    """One tagged word per word of the document, from the window that saw it with the most context."""
    best: dict[int, TaggedToken] = {}
    for window in windows:
        for token in window:
            current = best.get(token.word)
            if current is None or token.margin > current.margin:
                best[token.word] = token
    return [best[word] for word in sorted(best)]


def group_tagged_tokens(tokens: Sequence[TaggedToken], text: str) -> list[dict[str, Any]]:
    """Step 3: the entity dicts, in text order."""
    entities: list[dict[str, Any]] = []
    start = 0
    while start < len(tokens):
        token = tokens[start]
        if token.tag.is_none:
            start += 1
            continue
        end = start + 1
        score_sum = token.score
        while end < len(tokens):
            following = tokens[end]
            if following.tag.is_beginning or following.tag.entity != token.tag.entity:
                break
            score_sum += following.score
            end += 1
        start_pos, end_pos = token.start, tokens[end - 1].end
        entities.append(
            {
                "entity": text[start_pos:end_pos],
                "class_name": token.tag.entity,
                "class_probability": score_sum / (end - start),
                "start_pos": start_pos,
                "end_pos": end_pos,
            }
        )
        start = end
    return entities


def annotated_text(text: str, entities: Sequence[Mapping[str, Any]]) -> str:
    """Step 4: the text with every entity written as ``[value](CLASS&value+with+pluses)``."""
    parts: list[str] = []
    position = 0
    for entity in entities:
        start, end = entity["start_pos"], entity["end_pos"]
        if start == -1:
            continue
        parts.append(text[position:start])
        value = text[start:end]
        parts.append(f"[{value}]({entity['class_name']}&{value.replace(' ', '+')})")
        position = end
    parts.append(text[position:])
    return "".join(parts)


def process(
    task_options: Mapping[str, Any],
    text: str,
    encodings: Sequence[Encoding],
    outputs: Sequence[np.ndarray],
    *,
    vocabulary: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Entities and annotated text from every window's ``(tokens, labels)`` logits."""
    if not encodings or len(encodings[0]) == 0 or not outputs or len(outputs) < len(encodings):
        raise InvalidModelOutput("no valid tokenization to build result")
    tags = iob_map(task_options.get("classification_labels"))
    windows = []
    for encoding, output in zip(encodings, outputs, strict=False):
        logits = np.asarray(output, dtype=np.float64)
        logits = logits.reshape(-1, logits.shape[-1])
        if logits.shape[0] < len(encoding) or logits.shape[1] < len(tags):
            raise InvalidModelOutput(
                f"ner result has shape {list(logits.shape)}; expected [{len(encoding)}, {len(tags)}]"
            )
        windows.append(tag_tokens(encoding, softmax(logits), tags))
    tagged = merge_windows(windows)
    entity_text = text.lower() if do_lower_case(task_options) else text
    entities = group_tagged_tokens(tagged, entity_text)
    result = {results_field(task_options): annotated_text(text, entities), "entities": entities}
    return with_truncation(result, encodings)
