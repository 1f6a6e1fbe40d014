"""Memory: the deployment's PSS with 1, 2 and 4 allocations, against the size of the model's weights.

all-MiniLM-L6-v2 at sequence length 128 (126-word sentences), on a server offering 4 processors so
that four allocations of one thread are all placed. For each allocation count a fresh deployment is
loaded with 16 connections per allocation (so each can run full batches) for a while, and the
deployment's memory is the sum of PSS (proportional set size: shared pages split between the processes
sharing them) over its process tree, the worker processes `GET /_inferd/deployments/{id}/workers` names
and their children: before the load (idle), sampled during it (peak) and after it (settled). Target: each added allocation costs less than 25% of the
weights' size (the definition file); a process per allocation would pay 100%.

    .venv/bin/python bench/memory.py [--allocations 1,2,4] [--duration 6] [--json bench-memory.json]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import RunningLoad, choose_generator  # noqa: E402
from model import sentences_of_length, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, median, parser_for, print_table  # noqa: E402
from server import Server, cache_hits  # noqa: E402
from serving import SentenceSupply  # noqa: E402

TARGET = 0.25
MIB = 2**20
SAMPLE_EVERY_S = 0.25


def tree_pss(pids: list[int]) -> int:
    """Sum of PSS over the processes and all their descendants (a process that is gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in tree:
            try:
                total += process.memory_full_info().pss
            except psutil.NoSuchProcess:
                pass
    return total


def measured_run(server: Server, generator: str, texts: list[str], allocations: int, connections: int,
                 duration_s: float) -> dict[str, Any]:
    server.start_deployment(allocations, 1)
    pids = server.worker_pids()
    loaded = tree_pss(pids)
    before = server.stats()
    load = RunningLoad(generator, server.infer_url, texts, connections, duration_s, server.authorization)
    peak = 0
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        peak = max(peak, tree_pss(pids))
        time.sleep(SAMPLE_EVERY_S)
    result = load.wait()
    settled = tree_pss(pids)
    after = server.stats()
    workers = server.workers()
    server.stop_deployment()
    return {"allocations": allocations, "worker_pids": pids, "pss_loaded_bytes": loaded, "pss_peak_bytes": peak,
            "pss_settled_bytes": settled, "worker_max_rss_bytes": sum(w.get("memory_max_rss_bytes", 0) for w in workers),
            "load": result.as_dict(), "failed": result.failed, "cache_hits": cache_hits(after) - cache_hits(before)}


def main() -> None:
    parser = parser_for(__doc__, "memory")
    parser.add_argument("--allocations", default="1,2,4", help="allocation counts, the first the base")
    parser.add_argument("--processors", type=int, default=4, help="processors the server offers")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per sentence")
    parser.add_argument("--connections-per-allocation", type=int, default=16,
                        help="16 = the batch limit: every allocation can run full batches")
    parser.add_argument("--duration", type=float, default=6, help="seconds of load per deployment")
    parser.set_defaults(max_rate=300)  # 128-token sentences: far fewer per second than short ones
    args = parser.parse_args()
    counts = [int(count) for count in args.allocations.split(",")]
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    weights = traced.size_bytes
    per_run = int(args.duration * args.max_rate) + 1
    supply = SentenceSupply(sentences_of_length(traced, len(counts) * RUNS * per_run, args.tokens, seed=14))
    runs: dict[int, list[dict[str, Any]]] = {count: [] for count in counts}
    with Server(processors=args.processors, data_dir=args.data_dir, security=not args.no_security) as server:
        server.upload(traced)
        for _ in range(RUNS):
            for count in counts:
                runs[count].append(measured_run(server, generator, supply.take(per_run), count,
                                                count * args.connections_per_allocation, args.duration))
    peak = {count: median([run["pss_peak_bytes"] for run in runs[count]]) for count in counts}
    settled = {count: median([run["pss_settled_bytes"] for run in runs[count]]) for count in counts}
    # each step's cost per added allocation, as a share of the weights: 1->2, 2->4
    steps = [{"from": low, "to": high, "per_added_allocation_of_weights": (peak[high] - peak[low]) / (high - low) / weights}
             for low, high in zip(counts, counts[1:], strict=False)]
    worst = max((step["per_added_allocation_of_weights"] for step in steps), default=0.0)

    rows = [[count, peak[count] / MIB, settled[count] / MIB, median([run["pss_loaded_bytes"] for run in runs[count]]) / MIB,
             ""] for count in counts]
    for row, step in zip(rows[1:], steps, strict=True):
        row[4] = f"{100 * step['per_added_allocation_of_weights']:.1f}%"
    print_table(["allocations", "PSS peak MiB", "PSS settled MiB", "PSS idle MiB", "per added alloc / weights"], rows)
    print(f"weights (definition file): {weights / MIB:.1f} MiB; sequence length {args.tokens}")
    all_runs = [run for count in counts for run in runs[count]]
    results = {
        "processors": args.processors, "tokens_per_sentence": args.tokens, "weights_bytes": weights,
        "pss_peak_bytes": {str(count): peak[count] for count in counts},
        "pss_settled_bytes": {str(count): settled[count] for count in counts},
        "steps": steps, "worst_per_added_allocation_of_weights": worst,
        "failed": sum(run["failed"] for run in all_runs), "cache_hits": sum(run["cache_hits"] for run in all_runs),
        "repeated_requests": sum(run["load"]["repeated"] for run in all_runs),
        "load_generator": load_generator_summary(all_runs),
        "runs": {str(count): runs[count] for count in counts},
    }
    finish(args, "memory", results, f"each added allocation < {TARGET:.0%} of the weights (worst {worst:.1%})",
           worst < TARGET, started)


if __name__ == "__main__":
    main()
