"""What security costs: the throughput benchmark's served rate with security on and with `--no-security`.

The same deployment as `throughput.py` (all-MiniLM-L6-v2, ~12-token sentences, P allocations x 1 thread,
32 connections), served by a server with security on (every request sends the admin API key, checked
per request) and one with it off. Two starts of the same server differ by a few percent, more than security
costs, so each of `RUNS` rounds starts a fresh pair (in alternating order) and alternates measured runs
between them on/off/off/on: drift and the luck of a start hit both sides alike. Each side's figure is the
median of its runs; the server process's own CPU per request shows the cost directly.
Target: security on loses less than 2%.

    .venv/bin/python bench/security.py [--processors 2] [--duration 10]
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import choose_generator, run_load  # noqa: E402
from model import sentences_of_length, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, median, parser_for, print_table  # noqa: E402
from server import Server  # noqa: E402
from serving import SentenceSupply, measured_run  # noqa: E402

TARGET_LOSS = 0.02
ORDER_IN_A_ROUND = (True, False, False, True)
"""Security on/off for the measured runs of one round: each side's runs sit as early and as late on average."""


def server_cpu_s(server: Server) -> float:
    """The server process's own CPU time (event loop and threads; the workers are its children)."""
    times = psutil.Process(server.pid).cpu_times()
    return float(times.user + times.system)


def measured_with_cpu(server: Server, generator: str, texts: list[str], connections: int,
                      duration_s: float) -> dict[str, Any]:
    before = server_cpu_s(server)
    run = measured_run(server, generator, texts, connections, duration_s)
    requests = max(1, run["load"]["requests"])
    return {**run, "server_cpu_us_per_request": 1e6 * (server_cpu_s(server) - before) / requests}


def main() -> None:
    parser = parser_for(__doc__, "security")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors offered")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load on each server before its round")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    args = parser.parse_args()
    generator = choose_generator(args.load_generator)
    started = machine_state()
    traced = traced_model(args.model_cache)
    warmup_count, run_count = int(args.warmup * args.max_rate) + 1, int(args.duration * args.max_rate) + 1
    total = RUNS * (2 * warmup_count + len(ORDER_IN_A_ROUND) * run_count)
    supply = SentenceSupply(sentences_of_length(traced, total, args.tokens, seed=13))

    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="inferd-bench-security-") as scratch:
        stores = args.data_dir or Path(scratch)
        for round_number in range(RUNS):
            with ExitStack() as stack:
                servers: dict[bool, Server] = {}
                for security in ((True, False) if round_number % 2 == 0 else (False, True)):
                    data_dir = stores / ("security-on" if security else "security-off")  # kept: one upload per side
                    server = stack.enter_context(Server(processors=args.processors, data_dir=data_dir,
                                                        security=security))
                    server.upload(traced)
                    server.start_deployment(args.processors, 1)
                    stack.callback(server.stop_deployment)
                    servers[security] = server
                for server in servers.values():  # both warm before either is measured
                    run_load(generator, server.infer_url, supply.take(warmup_count), args.connections, args.warmup,
                             server.authorization)
                for security in ORDER_IN_A_ROUND:
                    runs[security].append(measured_with_cpu(servers[security], generator, supply.take(run_count),
                                                            args.connections, args.duration))
    on = median([run["served_per_s"] for run in runs[True]])
    off = median([run["served_per_s"] for run in runs[False]])
    cpu_on = median([run["server_cpu_us_per_request"] for run in runs[True]])
    cpu_off = median([run["server_cpu_us_per_request"] for run in runs[False]])
    loss = 1 - on / off
    print_table(["", "sentences/s (median)", "server CPU us/request", "runs (sentences/s)"], [
        ["security on (API key per request)", on, cpu_on, ", ".join(f"{run['served_per_s']:.0f}" for run in runs[True])],
        ["--no-security", off, cpu_off, ", ".join(f"{run['served_per_s']:.0f}" for run in runs[False])],
        ["loss with security on", f"{100 * loss:.1f}%", f"{cpu_on - cpu_off:+.0f}", ""],
    ])
    everything = runs[True] + runs[False]
    results = {
        "processors": args.processors, "connections": args.connections, "duration_s": args.duration,
        "served_per_s_security_on": on, "served_per_s_security_off": off, "loss": loss,
        "server_cpu_us_per_request_security_on": cpu_on, "server_cpu_us_per_request_security_off": cpu_off,
        "failed": sum(run["failed"] for run in everything), "cache_hits": sum(run["cache_hits"] for run in everything),
        "repeated_requests": sum(run["load"]["repeated"] for run in everything),
        "load_generator": load_generator_summary(everything), "runs_on": runs[True], "runs_off": runs[False],
    }
    finish(args, "security", results, f"loss with security on < {100 * TARGET_LOSS:.0f}% (got {100 * loss:.1f}%)",
           loss < TARGET_LOSS, started)


if __name__ == "__main__":
    main()
