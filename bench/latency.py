"""Latency at low load: one connection's p50 and p99 against the raw batch-1 forward time of the same run.

all-MiniLM-L6-v2, one ~12-token sentence per `_infer` request, one connection (each request waits for
the previous answer), one allocation of `--threads` threads (default: every processor). The raw
baseline is the traced model's batch-1 forward pass with as many intra-op threads, measured first, in
the same run (`raw.py`). Target: served p50 within 2 ms of the raw p50.

    .venv/bin/python bench/latency.py [--threads T] [--duration 15] [--json bench-latency.json]
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

TARGET_MS = 2.0
RAW_SENTENCES = 1024


def main() -> None:
    parser = parser_for(__doc__, "latency")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the one allocation")
    parser.add_argument("--duration", type=float, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before the measured runs")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    parser.add_argument("--raw-seconds", type=float, default=3, help="seconds per raw measurement")
    parser.set_defaults(max_rate=400)  # one connection: a few hundred requests/s at most
    args = parser.parse_args()
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    per_run = int(args.duration * args.max_rate) + 1
    sentences = sentences_of_length(traced, RAW_SENTENCES + int(args.warmup * args.max_rate) + 1 + RUNS * per_run,
                                    args.tokens, seed=12)
    ids = raw.token_ids(tokenizer_of(traced), sentences[:RAW_SENTENCES])
    baseline = raw.measure(traced.definition_path, ids, raw.Layout(1, 1, args.threads), [1], args.raw_seconds, RUNS)
    raw_batch = baseline["batches"][0]

    with Server(data_dir=args.data_dir, security=not args.no_security) as server:
        server.upload(traced)
        server.start_deployment(1, args.threads)
        served = measure_served(server, generator, SentenceSupply(sentences[RAW_SENTENCES:]), connections=1,
                                duration_s=args.duration, warmup_s=args.warmup, max_rate=args.max_rate)
    over_p50 = served["latency_ms_p50"] - raw_batch["forward_ms_p50"]
    over_p99 = served["latency_ms_p99"] - raw_batch["forward_ms_p99"]

    print_table(["", "p50 ms", "p99 ms", "requests/s"], [
        [f"raw forward, batch 1, {args.threads} intra-op", raw_batch["forward_ms_p50"], raw_batch["forward_ms_p99"],
         raw_batch["docs_per_s"]],
        [f"inferd 1 alloc x {args.threads} threads, 1 conn", served["latency_ms_p50"], served["latency_ms_p99"],
         served["served_per_s"]],
        ["inferd over raw", over_p50, over_p99, ""],
    ])
    results = {
        "threads_per_allocation": args.threads, "tokens_per_sentence": ids.shape[1], "duration_s": args.duration,
        "latency_ms_p50": served["latency_ms_p50"], "latency_ms_p99": served["latency_ms_p99"],
        "raw_forward_ms_p50": raw_batch["forward_ms_p50"], "raw_forward_ms_p99": raw_batch["forward_ms_p99"],
        "over_raw_ms_p50": over_p50, "over_raw_ms_p99": over_p99, "served_per_s": served["served_per_s"],
        "failed": served["failed"], "cache_hits": served["cache_hits"],
        "repeated_requests": served["repeated_requests"], "load_generator": load_generator_summary(served["runs"]),
        "raw": baseline, "served": served,
    }
    finish(args, "latency", results, f"p50 within {TARGET_MS:g} ms of raw (got {over_p50:+.2f} ms)",
           over_p50 <= TARGET_MS, started)


if __name__ == "__main__":
    main()
