"""Smoke runs of the benchmarks with tiny counts: they must keep working, whatever numbers they give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
pytestmark = pytest.mark.slow


def test_tokenization_benchmark_smoke(tmp_path: Path) -> None:
    output = tmp_path / "tokenization.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "tokenization.py"), "--documents", "60", "--model-documents", "5",
         "--json", str(output)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tokenizer_to_model_ratio" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["short_tokens"] == 12 and measured["long_tokens"] > 200
    assert measured["distinct_documents"] == 60 + 10 and measured["cache_hits"] == 0
    assert measured["tokenize_short_docs_per_s"] > measured["model_short_docs_per_s"] > 0


def test_batching_benchmark_smoke(tmp_path: Path) -> None:
    output = tmp_path / "batching.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "batching.py"), "--documents", "8", "--sizes", "1,4", "--json", str(output)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "docs/s" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["tokens_per_document"] == 12
    assert measured["distinct_documents"] == 8 * 3 * 2 and measured["cache_hits"] == 0
    assert [row["batch_documents"] for row in measured["batches"]] == [1, 4]
    assert all(row["docs_per_s"] > 0 for row in measured["batches"])
