"""Cases ported from Elasticsearch's ``NerProcessorTests`` (elastic/elasticsearch,
x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/NerProcessorTests.java).

Each test names the Java test it ports. The grouping tests build the tagged words with the
offsets BERT's basic tokenizer gives (words and single punctuation marks).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from inferd.nlp.tasks import PROCESSORS, InvalidModelOutput, InvalidTaskOptions
from inferd.nlp.tasks.ner import IobTag, TaggedToken, annotated_text, group_tagged_tokens, iob_map

from .encodings import encode

LOWER = {"tokenization": {"bert": {"do_lower_case": True}}}
TEXT = "Many use Elasticsearch in London"
WORDS = [("Many", ["many"]), ("use", ["use"]), ("Elasticsearch", ["el", "##astic", "##search"]),
         ("in", ["in"]), ("London", ["london"])]  # fmt: skip
SCORES = [
    [7, 0, 0, 0, 0, 0, 0, 0, 0],  # many
    [7, 0, 0, 0, 0, 0, 0, 0, 0],  # use
    [0.01, 0.01, 0, 0.01, 0, 7, 0, 3, 0],  # el
    [0.01, 0.01, 0, 0, 0, 0, 0, 0, 0],  # ##astic
    [0, 0, 0, 0, 0, 0, 0, 0, 0],  # ##search
    [0, 0, 0, 0, 0, 0, 0, 0, 0],  # in
    [0, 0, 0, 0, 0, 0, 0, 6, 0],  # london
]
ZERO = [0.0] * 9


def run(options: dict, text: str, encoding, scores) -> dict:  # type: ignore[no-untyped-def]
    return PROCESSORS["ner"](options, text, [encoding], [np.array(scores, dtype=float)])


def test_process_results() -> None:  # testProcessResults
    result = run(LOWER, TEXT, encode(TEXT, WORDS, specials=False), SCORES)
    assert result["predicted_value"] == "Many use [Elasticsearch](ORG&Elasticsearch) in [London](LOC&London)"
    assert [(e["entity"], e["class_name"]) for e in result["entities"]] == [("elasticsearch", "ORG"), ("london", "LOC")]
    assert [(e["start_pos"], e["end_pos"]) for e in result["entities"]] == [(9, 22), (26, 32)]
    assert "is_truncated" not in result


def test_process_results_with_special_tokens() -> None:  # testProcessResultsWithSpecialTokens
    scores = [[7] + [0] * 8, *SCORES, [7] + [0] * 8]  # [CLS] ... [SEP]
    result = run(LOWER, TEXT, encode(TEXT, WORDS), scores)
    assert result["predicted_value"] == "Many use [Elasticsearch](ORG&Elasticsearch) in [London](LOC&London)"
    assert [(e["entity"], e["class_name"]) for e in result["entities"]] == [("elasticsearch", "ORG"), ("london", "LOC")]


def test_entity_probability_is_mean_of_sub_token_softmax() -> None:  # testProcessResults, scores derived by hand
    result = run(LOWER, TEXT, encode(TEXT, WORDS, specials=False), SCORES)

    def softmax(row: list[float]) -> list[float]:
        exps = [math.exp(v - max(row)) for v in row]
        return [e / sum(exps) for e in exps]

    org = (softmax(SCORES[2])[5] + softmax(SCORES[3])[5] + softmax(SCORES[4])[5]) / 3
    assert result["entities"][0]["class_probability"] == pytest.approx(org, abs=1e-15)
    assert result["entities"][1]["class_probability"] == pytest.approx(softmax(SCORES[6])[7], abs=1e-15)


def test_process_results_with_iob_map() -> None:  # testProcessResults_withIobMap
    text = "Elasticsearch in London"
    words = [("Elasticsearch", ["el", "##astic", "##search"]), ("in", ["in"]), ("London", ["london"])]
    options = {**LOWER, "classification_labels": ["B_LOC", "I_LOC", "B_MISC", "I_MISC", "B_PER", "I_PER",
                                                  "B_ORG", "I_ORG", "O"]}  # fmt: skip
    scores = [[0.01, 0.01, 0, 0.01, 0, 0, 7, 3, 0], [0.01, 0.01, 0, 0, 0, 0, 0, 0, 0], ZERO,
              [0, 0, 0, 0, 0, 0, 0, 0, 5], [6, 0, 0, 0, 0, 0, 0, 0, 0]]  # fmt: skip
    result = run(options, text, encode(text, words, specials=False), scores)
    assert result["predicted_value"] == "[Elasticsearch](ORG&Elasticsearch) in [London](LOC&London)"
    assert [(e["entity"], e["class_name"]) for e in result["entities"]] == [("elasticsearch", "ORG"), ("london", "LOC")]


def test_process_results_with_custom_iob_map() -> None:  # testProcessResults_withCustomIobMap
    text = "Elasticsearch in London"
    words = [("Elasticsearch", ["el", "##astic", "##search"]), ("in", ["in"]), ("London", ["london"])]
    options = {**LOWER, "classification_labels": ["B_LOC", "I_LOC", "B_SOFTWARE", "I_SOFTWARE", "O"]}
    scores = [[0.01, 0.01, 7, 3, 0], [0.01, 0.01, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 5], [6, 0, 0, 0, 0]]
    result = run({**options, "results_field": "ents"}, text, encode(text, words, specials=False), scores)
    assert result["ents"] == "[Elasticsearch](SOFTWARE&Elasticsearch) in [London](LOC&London)"
    assert [(e["entity"], e["class_name"]) for e in result["entities"]] == [
        ("elasticsearch", "SOFTWARE"),
        ("london", "LOC"),
    ]


def test_cased_model_keeps_case_and_reports_truncation() -> None:  # testProcessResults without do_lower_case
    result = run({}, TEXT, encode(TEXT, WORDS, specials=False, truncated=True), SCORES)
    assert [e["entity"] for e in result["entities"]] == ["Elasticsearch", "London"]
    assert result["is_truncated"] is True


def test_process_results_given_no_tokens() -> None:  # testProcessResults_GivenNoTokens
    with pytest.raises(InvalidModelOutput, match="no valid tokenization to build result"):
        run({}, "", encode("", [], specials=False), np.zeros((0, 9)))


def test_build_iob_map_reordered() -> None:  # testBuildIobMap_Reordered
    assert [t.tag for t in iob_map(["I_MISC", "O", "B_MISC", "I_PER"])] == ["I_MISC", "O", "B_MISC", "I_PER"]
    assert [t.tag for t in iob_map(None)] == ["O", "B_MISC", "I_MISC", "B_PER", "I_PER", "B_ORG", "I_ORG",
                                              "B_LOC", "I_LOC"]  # fmt: skip


def test_validate_duplicate_labels() -> None:  # testValidate_DuplicateLabels
    with pytest.raises(InvalidTaskOptions) as error:
        iob_map(["I_MISC", "B_MISC", "B_MISC", "O"])
    assert "the classification label [B_MISC] is duplicated in the list [I_MISC, B_MISC, B_MISC, O]" in str(error.value)


def test_validate_not_an_entity_label() -> None:  # testValidate_NotAEntityLabel (older NerProcessorTests)
    with pytest.raises(InvalidTaskOptions, match=re.escape("classification label [foo] is not an entity I-O-B tag")):
        iob_map(["foo", "B_MISC"])


def tagged(text: str, tags: list[str]) -> list[TaggedToken]:
    """Basic-tokenizer words (runs of letters/digits, single punctuation) tagged in order."""
    words = [m.span() for m in re.finditer(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]", text)]
    return [TaggedToken(s, e, IobTag.parse(tag), 1.0) for (s, e), tag in zip(words, tags, strict=False)]


def test_group_tagged_tokens() -> None:  # testGroupTaggedTokens
    text = "Hi Sarah Jessica, I live in Manchester and work for Elastic"
    tags = ["O", "B_PER", "I_PER", "O", "O", "O", "O", "B_LOC", "O", "O", "O", "B_ORG"]
    assert len(re.findall(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]", text)) == 12
    groups = group_tagged_tokens(tagged(text, tags), text)
    assert [(g["class_name"], g["entity"]) for g in groups] == [("PER", "Sarah Jessica"), ("LOC", "Manchester"),
                                                                ("ORG", "Elastic")]  # fmt: skip


def test_group_tagged_tokens_given_no_entities() -> None:  # testGroupTaggedTokens_GivenNoEntities
    assert group_tagged_tokens(tagged("Hi there", ["O", "O"]), "Hi there") == []


def test_group_tagged_tokens_given_consecutive_entities() -> None:  # testGroupTaggedTokens_GivenConsecutiveEntities
    text = "Rita, Sue, and Bob too"
    groups = group_tagged_tokens(tagged(text, ["B_PER", "O", "B_PER", "O", "O", "B_PER", "O"]), text)
    assert [(g["class_name"], g["entity"]) for g in groups] == [("PER", "Rita"), ("PER", "Sue"), ("PER", "Bob")]


def test_group_tagged_tokens_given_consecutive_continuing_entities() -> None:
    # testGroupTaggedTokens_GivenConsecutiveContinuingEntities
    text = "FirstName SecondName, NextPerson NextPersonSecondName. something_else"
    groups = group_tagged_tokens(tagged(text, ["B_PER", "I_PER", "O", "B_PER", "I_PER", "B_ORG"]), text)
    assert [(g["class_name"], g["entity"]) for g in groups[:2]] == [
        ("PER", "FirstName SecondName"),
        ("PER", "NextPerson NextPersonSecondName"),
    ]
    assert len(groups) == 3 and groups[2]["class_name"] == "ORG"


def test_entity_contains_punctuation() -> None:  # testEntityContainsPunctuation
    text = "Alexander, my name is Benjamin Trent, I work at Acme Inc.."
    tags = ["I_PER", "O", "O", "O", "O", "I_PER", "I_PER", "O", "O", "O", "O", "I_ORG", "I_ORG", "I_ORG", "O"]
    assert len(tagged(text, tags)) == len(tags)
    groups = group_tagged_tokens(tagged(text, tags), text)
    assert [(g["class_name"], g["entity"]) for g in groups] == [("PER", "Alexander"), ("PER", "Benjamin Trent"),
                                                                ("ORG", "Acme Inc.")]  # fmt: skip


def test_annotated_text_builder() -> None:  # testAnnotatedTextBuilder
    text = "Alexander, my name is Benjamin Trent, I work at Acme Inc."
    entities = [
        {"entity": "alexander", "class_name": "PER", "class_probability": 0.9963429980065166, "start_pos": 0, "end_pos": 9},
        {"entity": "benjamin trent", "class_name": "PER", "class_probability": 0.99720427, "start_pos": 22, "end_pos": 36},
        {"entity": "acme inc", "class_name": "ORG", "class_probability": 0.9982026600781208, "start_pos": 48, "end_pos": 56},
    ]  # fmt: skip
    assert annotated_text(text, entities) == (
        "[Alexander](PER&Alexander), my name is [Benjamin Trent](PER&Benjamin+Trent), I work at [Acme Inc](ORG&Acme+Inc)."
    )


def test_annotated_text_builder_empty() -> None:  # testAnnotatedTextBuilder_empty
    assert annotated_text("There are no entities", []) == "There are no entities"


def test_adjacent_beginnings_are_separate_entities() -> None:
    # older NerProcessorTests.testGroupTaggedTokens_GivenConsecutiveEntities: "Rita" B_PER, "Sue" B_PER side by side
    text = "Rita Sue and Bob to"
    groups = group_tagged_tokens(tagged(text, ["B_PER", "B_PER", "O", "B_PER", "O"]), text)
    assert [g["entity"] for g in groups] == ["Rita", "Sue", "Bob"]
