"""Scaling: throughput with 1 and with 2 allocations of one thread on 2 processors, at 32 connections, and the
ways to spend every processor (P allocations x 1 thread ... 1 allocation x P threads).

all-MiniLM-L6-v2, one ~12-token sentence per `_infer` request. Each allocation count and each layout gets a fresh
deployment on the same server. For scale, the raw model's own gain from one to two processes of one
thread (at the deployment's batch limit) is measured in the same run. Target: 2 allocations at least 1.85x one.

    .venv/bin/python bench/scaling.py [--allocations 1,2] [--layouts 2x1,1x2] [--duration 20] [--json F]
"""

from __future__ import annotations

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

TARGET = 1.85
RAW_SENTENCES = 1024


def main() -> None:
    parser = parser_for(__doc__, "scaling")
    parser.add_argument("--allocations", default="1,2", help="allocation counts, the first the base")
    parser.add_argument("--processors", type=int, default=2, help="processors the server offers")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before each deployment's runs")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    parser.add_argument("--max-batch-documents", type=int, default=16)
    parser.add_argument("--raw-seconds", type=float, default=1.5, help="seconds per raw measurement")
    parser.add_argument("--layouts", help="allocations x threads that use every processor, e.g. 4x1,2x2,1x4 "
                        "[default: every such layout of --processors]")
    args = parser.parse_args()
    counts = [int(count) for count in args.allocations.split(",")]
    layouts = [tuple(int(n) for n in layout.split("x")) for layout in args.layouts.split(",")] if args.layouts else \
        [(args.processors // threads, threads) for threads in range(1, args.processors + 1)
         if args.processors % threads == 0]
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    per_deployment = int(args.warmup * args.max_rate) + 1 + RUNS * (int(args.duration * args.max_rate) + 1)
    deployments = len(counts) + len([layout for layout in layouts if layout not in [(c, 1) for c in counts]])
    sentences = sentences_of_length(traced, RAW_SENTENCES + deployments * per_deployment, args.tokens, seed=13)
    ids = raw.token_ids(tokenizer_of(traced), sentences[:RAW_SENTENCES])
    raw_rates = {count: raw.measure(traced.definition_path, ids, raw.Layout(count, 1, 1), [args.max_batch_documents],
                                    args.raw_seconds, RUNS)["best_docs_per_s"] for count in counts}

    supply = SentenceSupply(sentences[RAW_SENTENCES:])
    by_layout: dict[tuple[int, int], dict[str, Any]] = {}
    with Server(processors=args.processors, data_dir=args.data_dir, security=not args.no_security) as server:
        server.upload(traced)
        for layout in [(count, 1) for count in counts] + [layout for layout in layouts]:
            if layout in by_layout:
                continue
            server.start_deployment(*layout, max_batch_documents=args.max_batch_documents)
            by_layout[layout] = measure_served(server, generator, supply, connections=args.connections,
                                               duration_s=args.duration, warmup_s=args.warmup, max_rate=args.max_rate)
            server.stop_deployment()
    served = {count: by_layout[(count, 1)] for count in counts}
    base = counts[0]
    gains = {count: served[count]["served_per_s"] / served[base]["served_per_s"] for count in counts}
    raw_gains = {count: raw_rates[count] / raw_rates[base] for count in counts}

    print_table(["allocations x 1 thread", "sentences/s", "gain", "p50 ms", "p99 ms", "raw processes gain"],
                [[count, served[count]["served_per_s"], gains[count], served[count]["latency_ms_p50"],
                  served[count]["latency_ms_p99"], raw_gains[count]] for count in counts])
    print_table(["layout (allocations x threads)", "sentences/s", "of the first", "p50 ms", "p99 ms"],
                [[f"{a} x {t}", by_layout[(a, t)]["served_per_s"],
                  by_layout[(a, t)]["served_per_s"] / by_layout[layouts[0]]["served_per_s"],
                  by_layout[(a, t)]["latency_ms_p50"], by_layout[(a, t)]["latency_ms_p99"]] for a, t in layouts])
    top = counts[-1]
    all_runs = [run for measured in by_layout.values() for run in measured["runs"]]
    results = {
        "processors": args.processors, "connections": args.connections, "duration_s": args.duration,
        "tokens_per_sentence": ids.shape[1], "max_batch_documents": args.max_batch_documents,
        "served_per_s": {str(count): served[count]["served_per_s"] for count in counts},
        "gain": gains[top], "raw_processes_per_s": {str(count): raw_rates[count] for count in counts},
        "raw_gain": raw_gains[top],
        "layouts": {f"{a}x{t}": by_layout[(a, t)]["served_per_s"] for a, t in layouts},
        "failed": sum(measured["failed"] for measured in by_layout.values()),
        "cache_hits": sum(measured["cache_hits"] for measured in by_layout.values()),
        "repeated_requests": sum(measured["repeated_requests"] for measured in by_layout.values()),
        "load_generator": load_generator_summary(all_runs),
        "served": {f"{a}x{t}": measured for (a, t), measured in by_layout.items()},
    }
    finish(args, "scaling", results, f"{top} allocations >= {TARGET}x of {base} (got {gains[top]:.2f}x)",
           gains[top] >= TARGET, started)


if __name__ == "__main__":
    main()
