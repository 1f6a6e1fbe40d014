"""Throughput against the hardware: served sentences/s over the best raw TorchScript rate on the same processors.

all-MiniLM-L6-v2, one sentence per `_infer` request, 32 connections, every processor in use (by default as
many allocations of one thread as there are processors), at each document length asked for (`--tokens`: ~12-token
sentences by default; the full run adds 128 and 256). The raw baseline is measured in the same run on the same
processors, before the server starts, for each length: the best of "1 thread x P intra-op", "P threads x 1" and
"P processes" at batch 1 to 64 (`raw.py`). Target: at least 0.90 at every length.

    .venv/bin/python bench/throughput.py [--processors P] [--tokens 12,128,256] [--duration 20] [--json F]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raw  # noqa: E402
from load import choose_generator  # noqa: E402
from model import sentences_of_length, tokenizer_of, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, parser_for, print_table  # noqa: E402
from server import Server  # noqa: E402
from serving import SentenceSupply, measure_served  # noqa: E402

TARGET = 0.90
RAW_SENTENCES = 1024
SHORT_TOKENS = 12
"""`--max-rate` is the provision for sentences of this length; longer ones are served proportionally slower."""


def main() -> None:
    parser = parser_for(__doc__, "throughput")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors offered and measured")
    parser.add_argument("--allocations", type=int, help="allocations [default: --processors]")
    parser.add_argument("--threads", type=int, default=1, help="threads per allocation")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before each length's measured runs")
    parser.add_argument("--tokens", default=str(SHORT_TOKENS), help="tokens per sentence: one length or several")
    parser.add_argument("--max-batch-documents", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="the deployment's inferd.device: cpu, cuda, cuda:N (the raw "
                        "baseline stays on the CPU, so with a GPU `of best raw` compares the GPU's served rate with "
                        "the CPU's best raw rate; give --max-batch-documents 128, a GPU deployment's default)")
    parser.add_argument("--precision", default="float32", help="the deployment's inferd.precision")
    parser.add_argument("--max-batch-tokens", type=int, help="the server's padded-token budget of one forward pass "
                        "(`INFERD_MAX_BATCH_TOKENS`) [default: the server's, 384]")
    parser.add_argument("--raw-sizes", default="1,2,4,8,16,32,64", help="raw batch sizes")
    parser.add_argument("--raw-seconds", type=float, default=1.5, help="seconds per raw measurement")
    args = parser.parse_args()
    allocations = args.allocations or args.processors // args.threads
    lengths = [int(tokens) for tokens in args.tokens.split(",")]
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    sizes = [int(size) for size in args.raw_sizes.split(",")]
    plans = []
    for tokens in lengths:
        max_rate = max(1, args.max_rate * SHORT_TOKENS // tokens)
        per_run = int(args.duration * max_rate) + 1
        sentences = sentences_of_length(traced, RAW_SENTENCES + int(args.warmup * max_rate) + 1 + RUNS * per_run,
                                        tokens, seed=11)
        ids = raw.token_ids(tokenizer_of(traced), sentences[:RAW_SENTENCES])
        layouts = [raw.measure(traced.definition_path, ids, layout, sizes, args.raw_seconds, RUNS)
                   for layout in raw.hardware_layouts(args.processors)]
        plans.append((ids.shape[1], max_rate, SentenceSupply(sentences[RAW_SENTENCES:]), layouts))

    measured = []
    environment = {"INFERD_MAX_BATCH_TOKENS": str(args.max_batch_tokens)} if args.max_batch_tokens else {}
    with Server(processors=args.processors, data_dir=args.data_dir, security=not args.no_security,
                environment=environment) as server:
        server.upload(traced)
        server.start_deployment(allocations, args.threads, max_batch_documents=args.max_batch_documents,
                                device=args.device, precision=args.precision)
        for tokens, max_rate, supply, layouts in plans:
            served = measure_served(server, generator, supply, connections=args.connections,
                                    duration_s=args.duration, warmup_s=args.warmup, max_rate=max_rate)
            measured.append(_length_result(tokens, layouts, served))

    rows = []
    for length in measured:
        rows += [[length["tokens_per_sentence"], f"raw {layout['layout']}", layout["best_batch"],
                  layout["best_docs_per_s"], "", "", layout["best_docs_per_s"] / length["best_raw_per_s"]]
                 for layout in length["raw"]]
        rows.append([length["tokens_per_sentence"], f"inferd {allocations} alloc x {args.threads} thread, "
                     f"{args.connections} conn, {args.device}", args.max_batch_documents, length["served_per_s"],
                     length["served"]["latency_ms_p50"], length["served"]["latency_ms_p99"], length["ratio"]])
    print_table(["tokens", "", "batch", "sentences/s", "p50 ms", "p99 ms", "of best raw"], rows)
    worst = min(length["ratio"] for length in measured)
    all_runs = [run for length in measured for run in length["served"]["runs"]]
    results = {
        "processors": args.processors, "allocations": allocations, "threads_per_allocation": args.threads,
        "connections": args.connections, "duration_s": args.duration, "max_batch_documents": args.max_batch_documents,
        "max_batch_tokens": args.max_batch_tokens, "device": args.device, "precision": args.precision, "ratio": worst, "lengths": measured,
        "failed": sum(length["failed"] for length in measured),
        "cache_hits": sum(length["cache_hits"] for length in measured),
        "repeated_requests": sum(length["repeated_requests"] for length in measured),
        "load_generator": load_generator_summary(all_runs),
    }
    got = ", ".join(f"{length['ratio']:.2f} at {length['tokens_per_sentence']} tokens" for length in measured)
    finish(args, "throughput", results, f"served / best raw >= {TARGET} at every length (got {got})",
           worst >= TARGET, started)


def _length_result(tokens: int, layouts: list[dict[str, Any]], served: dict[str, Any]) -> dict[str, Any]:
    best = max(layouts, key=lambda layout: layout["best_docs_per_s"])
    return {
        "tokens_per_sentence": tokens, "served_per_s": served["served_per_s"],
        "best_raw_per_s": best["best_docs_per_s"], "best_raw_layout": best["layout"],
        "best_raw_batch": best["best_batch"], "ratio": served["served_per_s"] / best["best_docs_per_s"],
        "failed": served["failed"], "cache_hits": served["cache_hits"],
        "repeated_requests": served["repeated_requests"], "raw": layouts, "served": served,
    }


if __name__ == "__main__":
    main()
