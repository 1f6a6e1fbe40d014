"""Enrich throughput against `_infer`'s: documents through an ingest pipeline with `inferd enrich`, as a ratio of
the documents/s `_infer` serves at the same batch size.

all-MiniLM-L6-v2, P allocations x 1 thread, ~12-token distinct sentences. The `_infer` side sends `--batch-size`
documents per request from `--connections` clients back to back (the enrich route keeps the same number of
batches in flight). The enrich side runs the CLI as a user would (`inferd enrich --pipeline p in.ndjson -o
out.ndjson --batch-size B`: its start, reading, the NDJSON stream, the pipeline's inference processor, writing)
and checks that every output line holds its input and an embedding. Each of three rounds measures both sides
(alternating which goes first) over documents no other run sent; each side's figure is its median.
Target: enrich keeps at least 0.8 of `_infer`'s documents/s.

    .venv/bin/python bench/enrich.py [--processors 2] [--documents 3000] [--batch-size 16]
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import MODEL_ID, sentences_of_length, traced_model  # noqa: E402
from report import RUNS, finish, machine_state, median, parser_for, print_table  # noqa: E402
from server import Server, cache_hits, failure_count, inference_count  # noqa: E402
from serving import SentenceSupply  # noqa: E402

TARGET_RATIO = 0.8
PIPELINE = "bench-enrich"
ENRICH_IN_FLIGHT = 4
"""The enrich route's batches in flight (its `concurrency` default): the `_infer` side's connections."""


def infer_run(server: Server, texts: list[str], batch_size: int, connections: int) -> dict[str, Any]:
    """`texts` in requests of `batch_size` documents from `connections` clients, back to back."""
    batches: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
    for start in range(0, len(texts), batch_size):
        batches.put(texts[start:start + batch_size])
    failed = [0] * connections
    headers = {"Authorization": server.authorization} if server.authorization else {}

    def client(index: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
            while True:
                try:
                    batch = batches.get_nowait()
                except queue.Empty:
                    return
                answer = http.post(f"/_ml/trained_models/{MODEL_ID}/_infer",
                                   json={"docs": [{"text_field": text} for text in batch]})
                failed[index] += 0 if answer.status_code == 200 else len(batch)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"documents": len(texts), "seconds": elapsed, "docs_per_s": len(texts) / elapsed, "failed": sum(failed)}


def enrich_run(server: Server, texts: list[str], batch_size: int, scratch: Path) -> dict[str, Any]:
    """`inferd enrich` over `texts` as NDJSON documents, timed from the command's start to its exit."""
    corpus, output = scratch / "in.ndjson", scratch / "out.ndjson"
    corpus.write_text("".join(json.dumps({"id": index, "text": text}) + "\n" for index, text in enumerate(texts)))
    output.unlink(missing_ok=True)
    command = [sys.executable, "-m", "inferd", "enrich", str(corpus), "--pipeline", PIPELINE, "-o", str(output),
               "--url", server.url, "--batch-size", str(batch_size)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                            env={**os.environ, **({"INFERD_API_KEY": server.api_key} if server.api_key else {})})
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"inferd enrich exited with {result.returncode}: {result.stderr[-3000:]}")
    enriched = [json.loads(line) for line in output.read_text().splitlines()]
    complete = sum(1 for index, (document, text) in enumerate(zip(enriched, texts, strict=False))
                   if document.get("id") == index and document.get("text") == text and len(document.get("vector", ())))
    return {"documents": len(texts), "seconds": elapsed, "docs_per_s": len(texts) / elapsed,
            "failed": len(texts) - complete}


def measured(server: Server, side: str, run: Any) -> dict[str, Any]:
    """One run of one side, with what the server saw of it."""
    before = server.stats()
    result = run()
    after = server.stats()
    return {**result, "side": side, "inferred_documents": inference_count(after) - inference_count(before),
            "cache_hits": cache_hits(after) - cache_hits(before),
            "server_failures": failure_count(after) - failure_count(before)}


def main() -> None:
    parser = parser_for(__doc__, "enrich")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors offered")
    parser.add_argument("--documents", type=int, default=3000, help="documents per measured run")
    parser.add_argument("--warmup-documents", type=int, default=300, help="documents of each side before round 1")
    parser.add_argument("--batch-size", type=int, default=16, help="documents per `_infer` and per pipeline batch")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    args = parser.parse_args()
    started = machine_state()
    traced = traced_model(args.model_cache)
    total = 2 * (args.warmup_documents + RUNS * args.documents)
    supply = SentenceSupply(sentences_of_length(traced, total, args.tokens, seed=29))

    runs: dict[str, list[dict[str, Any]]] = {"infer": [], "enrich": []}
    with tempfile.TemporaryDirectory(prefix="inferd-bench-enrich-") as scratch, Server(
            processors=args.processors, data_dir=args.data_dir,
            options=["--no-security"] if args.no_security else ()) as server:
        server.upload(traced)
        server.start_deployment(args.processors, 1, max_batch_documents=args.batch_size)
        server.http.put(f"/_ingest/pipeline/{PIPELINE}", json={"processors": [{"inference": {
            "model_id": MODEL_ID, "input_output": [{"input_field": "text", "output_field": "vector"}]}}]},
        ).raise_for_status()
        sides = {
            "infer": lambda texts: infer_run(server, texts, args.batch_size, ENRICH_IN_FLIGHT),
            "enrich": lambda texts: enrich_run(server, texts, args.batch_size, Path(scratch)),
        }
        try:
            for side in sides.values():
                side(supply.take(args.warmup_documents))
            for round_number in range(RUNS):
                for name in (("infer", "enrich") if round_number % 2 == 0 else ("enrich", "infer")):
                    texts = supply.take(args.documents)
                    runs[name].append(measured(server, name, lambda texts=texts, name=name: sides[name](texts)))
        finally:
            server.stop_deployment()
    infer_rate = median([run["docs_per_s"] for run in runs["infer"]])
    enrich_rate = median([run["docs_per_s"] for run in runs["enrich"]])
    ratio = enrich_rate / infer_rate
    print_table(["", "documents/s (median)", "runs (documents/s)"], [
        [f"_infer, {args.batch_size} per request, {ENRICH_IN_FLIGHT} connections", infer_rate,
         ", ".join(f"{run['docs_per_s']:.0f}" for run in runs["infer"])],
        [f"inferd enrich, --batch-size {args.batch_size}", enrich_rate,
         ", ".join(f"{run['docs_per_s']:.0f}" for run in runs["enrich"])],
        ["enrich / _infer", ratio, ""],
    ])
    everything = runs["infer"] + runs["enrich"]
    results = {
        "processors": args.processors, "documents_per_run": args.documents, "batch_size": args.batch_size,
        "tokens_per_sentence": args.tokens, "infer_docs_per_s": infer_rate, "enrich_docs_per_s": enrich_rate,
        "ratio": ratio, "failed": sum(run["failed"] + run["server_failures"] for run in everything),
        "cache_hits": sum(run["cache_hits"] for run in everything), "repeated_requests": 0,
        "runs_infer": runs["infer"], "runs_enrich": runs["enrich"],
    }
    finish(args, "enrich", results, f"enrich >= {TARGET_RATIO} of _infer's documents/s (got {ratio:.2f})",
           ratio >= TARGET_RATIO, started)


if __name__ == "__main__":
    main()
