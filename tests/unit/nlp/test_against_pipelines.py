"""inferd's results on tiny random models against the transformers pipelines on the same models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.models import make_test_model
from tests.support.pipeline import infer

pytestmark = pytest.mark.slow
TEXTS = ["the quick brown fox jumps", "a dog runs in the park", "she reads books every evening"]


@pytest.fixture(scope="module")
def transformers_offline():  # type: ignore[no-untyped-def]
    os.environ["HF_HUB_OFFLINE"] = "1"
    import transformers

    return transformers


def test_text_classification(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("text_classification", models_dir)
    ours = infer(model, TEXTS, {"text_classification": {"num_top_classes": 2}})
    reference = transformers_offline.pipeline("text-classification", model=str(model.hf_dir), top_k=None)(TEXTS)
    for mine, theirs in zip(ours, reference, strict=True):
        best = max(theirs, key=lambda entry: entry["score"])
        assert mine["predicted_value"] == best["label"]
        assert mine["prediction_probability"] == pytest.approx(best["score"], abs=1e-5)
        expected = {entry["label"]: entry["score"] for entry in theirs}
        for top in mine["top_classes"]:
            assert top["class_probability"] == pytest.approx(expected[top["class_name"]], abs=1e-5)


def test_text_embedding(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    model = make_test_model("text_embedding", models_dir)
    ours = infer(model, TEXTS)
    extractor = transformers_offline.pipeline("feature-extraction", model=str(model.hf_dir))
    for mine, text in zip(ours, TEXTS, strict=True):
        hidden = np.array(extractor(text)[0])
        pooled = hidden.mean(axis=0)
        expected = pooled / np.linalg.norm(pooled)
        vector = np.array(mine["predicted_value"])
        assert vector.shape == expected.shape
        assert np.allclose(vector / np.linalg.norm(vector), expected, atol=1e-5)


def test_fill_mask(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("fill_mask", models_dir)
    texts = ["the quick [MASK] fox", "a [MASK] runs in the park"]
    ours = infer(model, texts, {"fill_mask": {"num_top_classes": 3}})
    fill = transformers_offline.pipeline("fill-mask", model=str(model.hf_dir), top_k=3)
    for mine, text in zip(ours, texts, strict=True):
        theirs = fill(text)
        assert mine["predicted_value"] == theirs[0]["token_str"]
        assert mine["prediction_probability"] == pytest.approx(theirs[0]["score"], abs=1e-5)
        assert [top["class_name"] for top in mine["top_classes"]] == [entry["token_str"] for entry in theirs]


def test_zero_shot(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("zero_shot_classification", models_dir)
    labels = ["sports", "books", "animals"]
    ours = infer(model, TEXTS, {"zero_shot_classification": {"labels": labels, "multi_label": False}})
    classifier = transformers_offline.pipeline("zero-shot-classification", model=str(model.hf_dir))
    for mine, text in zip(ours, TEXTS, strict=True):
        theirs = classifier(text, candidate_labels=labels, hypothesis_template="This example is {}.")
        assert mine["predicted_value"] == theirs["labels"][0]
        assert mine["prediction_probability"] == pytest.approx(theirs["scores"][0], abs=1e-5)


def test_a_mismatched_task_is_refused(models_dir: Path) -> None:
    from inferd.nlp.tasks import TaskMismatch

    model = make_test_model("text_classification", models_dir)
    with pytest.raises(TaskMismatch, match=r"configured for task \[text_classification\] but called with task \[ner\]"):
        infer(model, TEXTS, {"ner": {}})


def best_span_reference(transformers, model_dir: str, question: str, context: str, max_length: int):  # type: ignore[no-untyped-def]
    """transformers 5 dropped its question-answering pipeline; this is that pipeline's (v4) scoring, written
    independently over the Hugging Face tokenizer and the untraced model: softmax over the context tokens
    and [CLS] (kept for the no-answer case, then zeroed), best start <= end within max_length by
    p(start) * p(end)."""
    import numpy as np
    import torch

    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    batch = tokenizer(question, context, return_tensors="pt", return_offsets_mapping=True)
    offsets = batch.pop("offset_mapping")[0].tolist()
    in_context = np.array([sequence == 1 for sequence in batch.sequence_ids(0)])
    in_context[0] = True  # [CLS]
    with torch.inference_mode():
        output = model(**batch)

    def probabilities(logits):  # type: ignore[no-untyped-def]
        values = np.where(in_context, logits[0].numpy().astype(np.float64), -np.inf)
        values = np.exp(values - values.max())
        return values / values.sum()

    start, end = probabilities(output.start_logits), probabilities(output.end_logits)
    start[0] = end[0] = 0.0
    scores = np.triu(np.outer(start, end)) - np.triu(np.outer(start, end), k=max_length)
    first, last = np.unravel_index(np.argmax(scores), scores.shape)
    return offsets[first][0], offsets[last][1], float(scores[first, last])


def test_question_answering(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    model = make_test_model("question_answering", models_dir)
    context = "the quick brown fox jumps over the lazy dog in the park every evening"
    for question in ["what jumps over the dog", "where does the fox run"]:
        (mine,) = infer(model, [context], {"question_answering": {"question": question, "max_answer_length": 15}})
        start, end, score = best_span_reference(transformers_offline, str(model.hf_dir), question, context, 15)
        assert (mine["start_offset"], mine["end_offset"]) == (start, end)
        assert mine["predicted_value"] == context[start:end]
        assert mine["prediction_probability"] == pytest.approx(score, rel=1e-4)


def test_ner_words_carry_the_pipelines_labels(models_dir: Path, transformers_offline) -> None:  # type: ignore[no-untyped-def]
    """Elasticsearch groups words into entities its own way (a B tag starts a new one; sub-word
    probabilities are averaged per word); per single-token word, the label and score must agree."""
    model = make_test_model("ner", models_dir)
    tagger = transformers_offline.pipeline("token-classification", model=str(model.hf_dir), aggregation_strategy="none")
    tokenizer = transformers_offline.AutoTokenizer.from_pretrained(str(model.hf_dir))
    checked = 0
    for mine, text in zip(infer(model, TEXTS), TEXTS, strict=True):
        encoded = tokenizer(text, return_offsets_mapping=True)
        word_ids = encoded.word_ids()
        single = {tuple(encoded["offset_mapping"][i]) for i, w in enumerate(word_ids) if w is not None
                  and word_ids.count(w) == 1}
        words = {(entity["start_pos"], entity["end_pos"]): entity for entity in mine["entities"]}
        for token in tagger(text):
            if (token["start"], token["end"]) not in single:
                continue  # sub-word probabilities are averaged per word in Elasticsearch, not in the pipeline
            entity_type = token["entity"].split("-", 1)[-1]
            covering = [e for (start, end), e in words.items() if start <= token["start"] and token["end"] <= end]
            assert covering and covering[0]["class_name"] == entity_type, (text, token)
            if (covering[0]["start_pos"], covering[0]["end_pos"]) == (token["start"], token["end"]):
                assert covering[0]["class_probability"] == pytest.approx(token["score"], abs=1e-5)
            checked += 1
    assert checked > 0
