"""Throughput against the hardware: served sentences/s over the best raw TorchScript rate on the same processors.

all-MiniLM-L6-v2, one ~12-token sentence per `_infer` request, 32 connections, every processor in use
(by default as many allocations of one thread as there are processors). The raw baseline is measured in
the same run on the same processors, before the server starts: the best of "1 thread x P intra-op",
"P threads x 1" and "P processes" at batch 1 to 64 (`raw.py`). Target: at least 0.75.

    .venv/bin/python bench/throughput.py [--processors P] [--duration 20] [--json bench-throughput.json]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raw  # noqa: E402
from load import choose_generator  # noqa: E402
from model import sentences_of_length, tokenizer_of, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, parser_for, print_table  # noqa: E402
from server import Server  # noqa: E402
from serving import SentenceSupply, measure_served  # noqa: E402

TARGET = 0.75
RAW_SENTENCES = 1024


def main() -> None:
    parser = parser_for(__doc__, "throughput")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors offered and measured")
    parser.add_argument("--allocations", type=int, help="allocations [default: --processors]")
    parser.add_argument("--threads", type=int, default=1, help="threads per allocation")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before the measured runs")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    parser.add_argument("--max-batch-documents", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="the deployment's inferd.device: cpu, cuda, cuda:N (the raw "
                        "baseline stays on the CPU, so with a GPU `of best raw` compares the GPU's served rate with "
                        "the CPU's best raw rate; give --max-batch-documents 128, a GPU deployment's default)")
    parser.add_argument("--precision", default="float32", help="the deployment's inferd.precision")
    parser.add_argument("--raw-sizes", default="1,2,4,8,16,32,64", help="raw batch sizes")
    parser.add_argument("--raw-seconds", type=float, default=1.5, help="seconds per raw measurement")
    args = parser.parse_args()
    allocations = args.allocations or args.processors // args.threads
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    per_run = int(args.duration * args.max_rate) + 1
    sentences = sentences_of_length(traced, RAW_SENTENCES + int(args.warmup * args.max_rate) + 1 + RUNS * per_run,
                                    args.tokens, seed=11)
    ids = raw.token_ids(tokenizer_of(traced), sentences[:RAW_SENTENCES])
    sizes = [int(size) for size in args.raw_sizes.split(",")]
    layouts = [raw.measure(traced.definition_path, ids, layout, sizes, args.raw_seconds, RUNS)
               for layout in raw.hardware_layouts(args.processors)]
    best = max(layouts, key=lambda layout: layout["best_docs_per_s"])

    with Server(processors=args.processors, data_dir=args.data_dir, security=not args.no_security) as server:
        server.upload(traced)
        server.start_deployment(allocations, args.threads, max_batch_documents=args.max_batch_documents,
                                device=args.device, precision=args.precision)
        served = measure_served(server, generator, SentenceSupply(sentences[RAW_SENTENCES:]),
                                connections=args.connections, duration_s=args.duration, warmup_s=args.warmup,
                                max_rate=args.max_rate)
    ratio = served["served_per_s"] / best["best_docs_per_s"]

    rows = [[f"raw {layout['layout']}", layout["best_batch"], layout["best_docs_per_s"], "", "",
             layout["best_docs_per_s"] / best["best_docs_per_s"]] for layout in layouts]
    rows.append([f"inferd {allocations} alloc x {args.threads} thread, {args.connections} conn, {args.device}",
                 args.max_batch_documents, served["served_per_s"], served["latency_ms_p50"], served["latency_ms_p99"],
                 ratio])
    print_table(["", "batch", "sentences/s", "p50 ms", "p99 ms", "of best raw"], rows)
    results = {
        "processors": args.processors, "tokens_per_sentence": ids.shape[1], "allocations": allocations,
        "threads_per_allocation": args.threads, "connections": args.connections, "duration_s": args.duration,
        "max_batch_documents": args.max_batch_documents, "device": args.device, "precision": args.precision,
        "served_per_s": served["served_per_s"], "best_raw_per_s": best["best_docs_per_s"],
        "best_raw_layout": best["layout"], "best_raw_batch": best["best_batch"], "ratio": ratio,
        "failed": served["failed"], "cache_hits": served["cache_hits"],
        "repeated_requests": served["repeated_requests"], "load_generator": load_generator_summary(served["runs"]),
        "raw": layouts, "served": served,
    }
    finish(args, "throughput", results, f"served / best raw >= {TARGET} (got {ratio:.2f})", ratio >= TARGET, started)


if __name__ == "__main__":
    main()
