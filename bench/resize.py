"""Resize under load: requests failed while resizing, and the time from `_update` to the new allocations serving.

all-MiniLM-L6-v2, one ~12-token sentence per `_infer` request, 32 connections for the whole run. A fresh
deployment of one allocation (one thread) takes load for `--settle` seconds; it is resized to two, and
`--hold` seconds after those serve, back to one; the load goes on `--hold` seconds after that. Two layouts:

- in place: one node of P processors; the second allocation is a thread in the running worker.
- new worker: `--nodes 2`; the second allocation lands on the other node, in a worker started for it.

Serving means: the deployment reports every allocation allocated, its workers report the allocation
count asked for, and every route that holds one has answered a document since the `_update` was sent.
Timed are the `_update` call itself, the time to serving, and the shrink's time until one allocation is
left (the retired route drained and gone). Target: 0 requests failed.

    .venv/bin/python bench/resize.py [--settle 5] [--hold 5] [--json bench-resize.json]
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import RunningLoad, choose_generator  # noqa: E402
from model import sentences_of_length, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, median, parser_for, print_table  # noqa: E402
from server import Server, cache_hits, failure_count  # noqa: E402
from serving import SentenceSupply  # noqa: E402

POLL_S = 0.05
LAYOUTS = {"in place": 1, "new worker": 2}  # name: virtual nodes
EXPECTED_RESIZE_S = 15  # distinct sentences are provisioned for this long a resize (a new worker's start)


def seconds_until(check: Callable[[], bool], since: float, timeout_s: float) -> float | None:
    """Seconds from `since` (a monotonic time) until `check()` held, polling; None if not within `timeout_s`."""
    while time.monotonic() - since < timeout_s:
        if check():
            return time.monotonic() - since
        time.sleep(POLL_S)
    return None


def serving(server: Server, allocations: int, counts_before: dict[str, int]) -> bool:
    stats = server.stats()
    status = stats.get("allocation_status", {})
    if status.get("allocation_count") != allocations or status.get("target_allocation_count") != allocations:
        return False
    nodes = [node for node in stats["nodes"] if node.get("number_of_allocations", 0) > 0]
    if sum(node["number_of_allocations"] for node in nodes) != allocations:
        return False
    if any(node["routing_state"]["routing_state"] != "started" for node in nodes):
        return False
    if sum(worker.get("allocations", 0) for worker in server.workers()) != allocations:
        return False
    return all(node["inference_count"] > counts_before.get(_node_id(node), 0) for node in nodes)


def _node_id(node: dict[str, Any]) -> str:
    return next(iter(node["node"]))


def measured_run(server: Server, generator: str, texts: list[str], connections: int, settle_s: float,
                 hold_s: float, timeout_s: float) -> dict[str, Any]:
    """1 -> 2 -> 1 allocations under load; the load runs until the shrink is done and `hold_s` more."""
    server.start_deployment(1, 1)
    before = server.stats()
    load = RunningLoad(generator, server.infer_url, texts, connections, settle_s + 2 * (timeout_s + hold_s) + 5,
                       server.authorization)
    time.sleep(settle_s)
    counts = {_node_id(node): node["inference_count"] for node in server.stats()["nodes"]}
    sent = time.monotonic()
    server.update_deployment(2)
    update_call_s = time.monotonic() - sent
    grow_s = seconds_until(lambda: serving(server, 2, counts), sent, timeout_s)
    time.sleep(hold_s)
    sent = time.monotonic()
    server.update_deployment(1)
    shrink_s = seconds_until(lambda: serving(server, 1, {}) and len(server.stats()["nodes"]) == 1, sent, timeout_s)
    time.sleep(hold_s)
    result = load.stop()
    after = server.stats()
    server.stop_deployment()
    return {"update_call_s": update_call_s, "grow_to_serving_s": grow_s, "shrink_done_s": shrink_s,
            "load": result.as_dict(), "failed": result.failed,
            "server_failures": failure_count(after) - failure_count(before),
            "cache_hits": cache_hits(after) - cache_hits(before)}


def main() -> None:
    parser = parser_for(__doc__, "resize")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors the server offers")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"which of {list(LAYOUTS)}")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--settle", type=float, default=5, help="seconds of load before the resize")
    parser.add_argument("--hold", type=float, default=5, help="seconds of load after each resize is done")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for each resize to be done")
    args = parser.parse_args()
    layouts = args.layouts.split(",")
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    per_run = int((args.settle + 2 * args.hold + EXPECTED_RESIZE_S) * args.max_rate)
    supply = SentenceSupply(sentences_of_length(traced, len(layouts) * RUNS * per_run, 12, seed=15))
    runs: dict[str, list[dict[str, Any]]] = {}
    for layout in layouts:
        with Server(processors=args.processors, nodes=LAYOUTS[layout], data_dir=args.data_dir,
                    security=not args.no_security) as server:
            server.upload(traced)
            runs[layout] = [measured_run(server, generator, supply.take(per_run), args.connections, args.settle,
                                         args.hold, args.timeout) for _ in range(RUNS)]

    def median_of(layout: str, name: str) -> float | None:
        values = [run[name] for run in runs[layout]]
        return None if None in values else median(values)

    rows = []
    summary = {}
    for layout in layouts:
        summary[layout] = {
            "failed": sum(run["failed"] for run in runs[layout]),
            "update_call_s": median_of(layout, "update_call_s"),
            "grow_to_serving_s": median_of(layout, "grow_to_serving_s"),
            "shrink_done_s": median_of(layout, "shrink_done_s"),
            "served_per_s": median([run["load"]["requests_per_s"] for run in runs[layout]]),
        }
        rows.append([layout, summary[layout]["failed"], *(_seconds(summary[layout][name]) for name in
                     ("update_call_s", "grow_to_serving_s", "shrink_done_s")), summary[layout]["served_per_s"]])
    print_table(["1 -> 2 -> 1 allocations", "failed", "_update s", "to serving s", "shrink s", "requests/s"], rows)
    all_runs = [run for layout in layouts for run in runs[layout]]
    failed = sum(run["failed"] for run in all_runs)
    results = {
        "processors": args.processors, "connections": args.connections, "settle_s": args.settle,
        "hold_s": args.hold,
        "failed": failed, "layouts": summary,
        "cache_hits": sum(run["cache_hits"] for run in all_runs),
        "repeated_requests": sum(run["load"]["repeated"] for run in all_runs),
        "load_generator": load_generator_summary(all_runs), "runs": runs,
    }
    finish(args, "resize", results, f"0 requests failed while resizing (got {failed})", failed == 0, started)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
