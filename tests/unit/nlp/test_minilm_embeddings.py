"""inferd's tokenizer feeding the traced all-MiniLM-L6-v2 gives sentence-transformers' embeddings.

The reference is computed independently: the Hugging Face tokenizer and the untraced BERT with
sentence-transformers' mean pooling and normalisation.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from inferd.nlp import TokenizerOptions, build_tokenizer
from tests.support.models import make_minilm_model

pytestmark = pytest.mark.slow

SUBJECTS = ["The café owner", "A naïve student", "Our CEO", "Zoë", "The 3 engineers", "Someone in Tōkyō", "It"]
VERBS = ["bought", "didn't like", "re-read", "painted", "is SHIPPING", "explained"]
OBJECTS = ["the résumé.", "two pizzas!", "a 1,000-page novel?", "the model's weights", "emoji 🙂 too", "日本語のテキスト"]


def sentences(count: int) -> list[str]:
    rng = random.Random(7)
    made = {f"{rng.choice(SUBJECTS)}  {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(count * 4)}
    return sorted(made)[:count]


def test_embeddings_match_sentence_transformers(models_dir: Path) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    import transformers

    traced = make_minilm_model(models_dir)
    assert traced.hf_dir is not None
    model = torch.jit.load(str(traced.definition_path))
    options = traced.config["inference_config"]["text_embedding"]["tokenization"]["bert"]
    tokenizer = build_tokenizer(
        "bert", traced.vocabulary["vocabulary"],
        options=TokenizerOptions(do_lower_case=options["do_lower_case"], max_sequence_length=options["max_sequence_length"]),
    )
    reference_tokenizer = transformers.AutoTokenizer.from_pretrained(traced.hf_dir)
    reference_model = transformers.AutoModel.from_pretrained(traced.hf_dir).eval()

    texts = sentences(100)
    assert len(texts) == 100
    similarities = []
    with torch.inference_mode():
        for text in texts:
            ids = torch.tensor([tokenizer.encode(text)[0].token_ids])
            ours = model(ids, torch.ones_like(ids), torch.zeros_like(ids), torch.arange(ids.shape[1]).unsqueeze(0))
            ours = ours[0] if isinstance(ours, tuple) else ours
            batch = reference_tokenizer(text, return_tensors="pt")
            hidden = reference_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            expected = torch.nn.functional.normalize(pooled, dim=-1)
            similarities.append(torch.nn.functional.cosine_similarity(ours.reshape(1, -1), expected).item())
    assert min(similarities) > 0.9999, min(similarities)
