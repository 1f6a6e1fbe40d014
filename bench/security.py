"""What security costs: the throughput benchmark's served rate with security on and with `--no-security`.

The same deployment as `throughput.py` (all-MiniLM-L6-v2, ~12-token sentences, P allocations x 1 thread,
32 connections), served by a server with security on (every request sends the admin API key, checked
per request) and one with it off, alternately and in alternating order, `RUNS` times each: machine
drift hits both alike, and each side's figure is the median of its runs. Target: security on loses less than 2%.

    .venv/bin/python bench/security.py [--processors 2] [--duration 20]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import choose_generator, run_load  # noqa: E402
from model import sentences_of_length, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, median, parser_for, print_table  # noqa: E402
from server import Server  # noqa: E402
from serving import SentenceSupply, measured_run  # noqa: E402

TARGET_LOSS = 0.02


def main() -> None:
    parser = parser_for(__doc__, "security")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors offered")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before each measured run")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    args = parser.parse_args()
    generator = choose_generator(args.load_generator)
    started = machine_state()
    traced = traced_model(args.model_cache)
    per_run = int((args.duration + args.warmup) * args.max_rate) + 2
    supply = SentenceSupply(sentences_of_length(traced, 2 * RUNS * per_run, args.tokens, seed=13))

    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="inferd-bench-security-") as scratch:
        stores = args.data_dir or Path(scratch)
        for run in range(RUNS):
            # on/off, off/on, on/off: neither side always goes first. Each keeps its store (one upload per side).
            for security in ((True, False) if run % 2 == 0 else (False, True)):
                data_dir = stores / ("security-on" if security else "security-off")
                with Server(processors=args.processors, data_dir=data_dir, security=security) as server:
                    server.upload(traced)
                    server.start_deployment(args.processors, 1)
                    run_load(generator, server.infer_url, supply.take(int(args.warmup * args.max_rate) + 1),
                             args.connections, args.warmup, server.authorization)
                    runs[security].append(measured_run(server, generator, supply.take(int(args.duration * args.max_rate) + 1),
                                                       args.connections, args.duration))
                    server.stop_deployment()
    on = median([run["served_per_s"] for run in runs[True]])
    off = median([run["served_per_s"] for run in runs[False]])
    loss = 1 - on / off
    print_table(["", "sentences/s (median)", "runs"], [
        ["security on (API key per request)", on, ", ".join(f"{run['served_per_s']:.0f}" for run in runs[True])],
        ["--no-security", off, ", ".join(f"{run['served_per_s']:.0f}" for run in runs[False])],
        ["loss with security on", f"{100 * loss:.1f}%", ""],
    ])
    everything = runs[True] + runs[False]
    results = {
        "processors": args.processors, "connections": args.connections, "duration_s": args.duration,
        "served_per_s_security_on": on, "served_per_s_security_off": off, "loss": loss,
        "failed": sum(run["failed"] for run in everything), "cache_hits": sum(run["cache_hits"] for run in everything),
        "repeated_requests": sum(run["load"]["repeated"] for run in everything),
        "load_generator": load_generator_summary(everything), "runs_on": runs[True], "runs_off": runs[False],
    }
    finish(args, "security", results, f"loss with security on < {100 * TARGET_LOSS:.0f}% (got {100 * loss:.1f}%)",
           loss < TARGET_LOSS, started)


if __name__ == "__main__":
    main()
