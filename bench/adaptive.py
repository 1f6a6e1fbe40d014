"""Adaptive allocations: the cold start from zero, and the time sustained load takes to get the allocations it needs.

all-MiniLM-L6-v2 with adaptive allocations (min 0, max 2, one thread each) on a server of `--processors 2`
whose scaler polls every `--interval` second, may scale down `--scale-up-cooldown` seconds after a scale-up,
and scales an idle deployment to zero after `--scale-to-zero-after` seconds (60 at the least). Each run is one
cycle of two parts:

- cold start: once the idle deployment is at zero allocations (no route, no worker), one `_infer` of one new
  sentence; timed from the request sent to its answer, and split into the model load (the worker's own time
  to load the TorchScript definition, the tokenizer and the runner, which it reports when ready:
  `load_time_ms` of `/_inferd/deployments/{id}/workers`) and the rest (the scaler's scale from zero, the
  worker's process start and imports, routing and the inference itself, whose time in the worker is shown
  too). The definition file is in the page cache (the previous worker read it), as on a server that has run
  the model before.
- sustained load: from that one allocation, `--connections` connections of ~12-token distinct sentences
  until the deployment has two allocations serving (as `resize.py` defines it: `_stats` allocation_count 2
  of 2, its workers running 2 allocation threads, each route answering); timed from the load's start, with
  the scaler's `scaled` event to 2 for comparison (the JSON keeps the run's scaling events with the scaler's
  inputs: request rate, inference time, the load's bounds). The load goes on `--hold` seconds, then stops;
  the time back to one allocation is reported too (the scale-down waits out the cooldown from the scale-up).

Between runs the deployment must idle to zero again, so each run takes over `--scale-to-zero-after` seconds:
a full run of three takes about 3.5-4 minutes, a smoke run of one about 1.5. Medians of the runs; 0 requests
may fail.
Target: the median cold start under the `_infer` default timeout of 10 s, and 2 allocations reached in every run.

    .venv/bin/python bench/adaptive.py [--connections 32] [--hold 2] [--json bench-adaptive.json]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import RunningLoad, choose_generator  # noqa: E402
from model import sentences_of_length, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, median, parser_for, print_table  # noqa: E402
from resize import seconds_until, serving  # noqa: E402
from server import Server, cache_hits, failure_count  # noqa: E402
from serving import SentenceSupply  # noqa: E402

MAX_ALLOCATIONS = 2
TARGET_COLD_START_S = 10.0  # the `_infer` default timeout: a slower cold start fails a caller that kept it
EXPECTED_SCALE_UP_S = 20  # distinct sentences are provisioned for this long a scale-up
IDLE_POLL_S = 0.2  # while idling to zero: slower polls, so they cost the machine little


def allocation_count(stats: dict[str, Any]) -> int | None:
    return stats.get("allocation_status", {}).get("allocation_count")


def at_zero(server: Server) -> bool:
    """Scaled to zero and drained: no allocation asked for or held, no route, no worker."""
    stats = server.stats()
    status = stats.get("allocation_status", {})
    return (status.get("allocation_count"), status.get("target_allocation_count")) == (0, 0) \
        and not stats.get("nodes") and not server.workers()


def at_allocations(server: Server, allocations: int) -> bool:
    status = server.stats().get("allocation_status", {})
    return (status.get("allocation_count"), status.get("target_allocation_count")) == (allocations, allocations)


def event_after(server: Server, action: str, allocations: int, since_wall_s: float) -> float | None:
    """Seconds from `since_wall_s` (epoch) to the earliest such scaling event at or after it; None if none."""
    times = [event["timestamp"] / 1000 - since_wall_s for event in server.scaling_events()
             if event["action"] == action and event["allocations"] == allocations
             and event["timestamp"] / 1000 >= since_wall_s - 0.001]
    return min(times, default=None)


def cold_start(server: Server, text: str, idle_timeout_s: float, previous_pid: int | None) -> dict[str, Any]:
    """Wait for zero allocations, then one inference from zero: its time, split into the model load and the rest."""
    waited = time.monotonic()
    while not at_zero(server):
        if time.monotonic() - waited > idle_timeout_s:
            raise TimeoutError(f"not scaled to zero after {idle_timeout_s:.0f}s: {server.stats()}\n{server.log_tail()}")
        time.sleep(IDLE_POLL_S)
    idle_wait_s = time.monotonic() - waited
    sent_wall = time.time()
    sent = time.perf_counter()
    try:
        answer = server.infer(text, timeout="120s")
        total_s: float | None = time.perf_counter() - sent
        failed = 0
        embedding = answer["inference_results"][0]["predicted_value"]
        if len(embedding) != 384:
            raise RuntimeError(f"an embedding of {len(embedding)} dimensions")
    except RuntimeError as error:
        print(f"cold start failed: {error}", file=sys.stderr)
        total_s, failed = None, 1
    (worker,) = server.workers()
    load_s = worker["load_time_ms"] / 1000 if worker.get("load_time_ms") is not None else None
    stats = server.stats()
    (node,) = stats["nodes"]
    first_s = node["average_inference_time_ms"] / 1000 if node["inference_count"] == 1 else None
    return {
        "idle_wait_s": idle_wait_s, "total_s": total_s, "load_s": load_s,
        "rest_s": None if total_s is None or load_s is None else total_s - load_s,
        "first_inference_s": first_s,
        "scale_from_zero_event_s": event_after(server, "scale_from_zero", 1, sent_wall),
        "worker_pid": worker.get("pid"), "new_worker": worker.get("pid") != previous_pid,
        "failed": failed, "server_failures": failure_count(stats), "cache_hits": cache_hits(stats),
    }


def time_to_needed(server: Server, generator: str, texts: list[str], connections: int, hold_s: float,
                   timeout_s: float) -> dict[str, Any]:
    """From one allocation, sustained load until two serve (and `hold_s` more); then the way back to one."""
    if seconds_until(lambda: serving(server, 1, {}), time.monotonic(), timeout_s) is None:
        raise TimeoutError(f"not serving one allocation: {server.stats()}")
    before = server.stats()
    counts = {next(iter(node["node"])): node["inference_count"] for node in before["nodes"]}
    started_wall = time.time()
    started = time.monotonic()
    load = RunningLoad(generator, server.infer_url, texts, connections, timeout_s + hold_s + 5, server.authorization)
    reached_s = seconds_until(lambda: serving(server, MAX_ALLOCATIONS, counts), started, timeout_s)
    adaptive = server.stats().get("inferd", {}).get("adaptive_allocations", {})
    if reached_s is not None:
        time.sleep(hold_s)
    result = load.stop()
    stopped = time.monotonic()
    after = server.stats()
    back_s = seconds_until(lambda: at_allocations(server, 1), stopped, timeout_s)
    events = [{"after_load_start_s": event["timestamp"] / 1000 - started_wall, **event}
              for event in reversed(server.scaling_events()) if event["timestamp"] / 1000 >= started_wall - 0.001]
    return {
        "to_serving_s": reached_s, "reached": reached_s is not None,
        "scale_up_event_s": event_after(server, "scaled", MAX_ALLOCATIONS, started_wall),
        "needed_allocations": adaptive.get("needed_allocations"), "back_to_one_s": back_s,
        "load": result.as_dict(), "failed": result.failed,
        "server_failures": failure_count(after) - failure_count(before),
        "cache_hits": cache_hits(after) - cache_hits(before),
        "scaling_events": events,
    }


def main() -> None:
    parser = parser_for(__doc__, "adaptive")
    parser.add_argument("--processors", type=int, default=2, help="processors the server offers")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--interval", type=float, default=1, help="seconds between the scaler's polls")
    parser.add_argument("--scale-up-cooldown", type=float, default=5,
                        help="seconds after a scale-up before a scale-down")
    parser.add_argument("--scale-to-zero-after", type=float, default=60, help="idle seconds before zero (>= 60)")
    parser.add_argument("--hold", type=float, default=2, help="seconds of load after two allocations serve")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for each scaling step")
    parser.add_argument("--runs", type=int, default=RUNS, help="cycles (each idles to zero first)")
    args = parser.parse_args()
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = traced_model(args.model_cache)
    per_run = int((EXPECTED_SCALE_UP_S + args.hold) * args.max_rate)
    supply = SentenceSupply(sentences_of_length(traced, args.runs * (per_run + 1), 12, seed=19))
    options = ["--adaptive-interval", str(args.interval), "--scale-up-cooldown", str(args.scale_up_cooldown),
               "--scale-to-zero-after", str(args.scale_to_zero_after)]
    runs: list[dict[str, Any]] = []
    with Server(processors=args.processors, data_dir=args.data_dir, options=options) as server:
        server.upload(traced)
        server.start_adaptive_deployment(0, MAX_ALLOCATIONS, 1)
        pid = next(iter(server.worker_pids()), None)
        for number in range(1, args.runs + 1):
            print(f"run {number}/{args.runs}: idling to zero (~{args.scale_to_zero_after:.0f}s)", file=sys.stderr)
            cold = cold_start(server, supply.take(1)[0], args.scale_to_zero_after + args.timeout, pid)
            pid = cold["worker_pid"]
            grow = time_to_needed(server, generator, supply.take(per_run), args.connections, args.hold, args.timeout)
            runs.append({"cold_start": cold, "sustained_load": grow})
        server.stop_deployment()

    def median_of(part: str, name: str) -> float | None:
        values = [run[part][name] for run in runs]
        return None if None in values else median(values)

    measures = [("cold start: first request -> answer", "cold_start", "total_s"),
                ("  model load (in the worker)", "cold_start", "load_s"),
                ("  the rest (scale, spawn, imports, routing, inference)", "cold_start", "rest_s"),
                ("    of which the first inference (in the worker)", "cold_start", "first_inference_s"),
                ("  scale_from_zero event after the request", "cold_start", "scale_from_zero_event_s"),
                (f"load -> {MAX_ALLOCATIONS} allocations serving", "sustained_load", "to_serving_s"),
                (f"  scaled event to {MAX_ALLOCATIONS} after load start", "sustained_load", "scale_up_event_s"),
                ("load stopped -> back to 1 allocation", "sustained_load", "back_to_one_s")]
    print_table(["seconds", "median", "runs"],
                [[label, _seconds(median_of(part, name)), " / ".join(_seconds(run[part][name]) for run in runs)]
                 for label, part, name in measures])
    summary = {f"{part}_{name}": median_of(part, name) for _, part, name in measures}
    loads = [run["sustained_load"] for run in runs]
    parts = ("cold_start", "sustained_load")
    failed = sum(run[part]["failed"] for run in runs for part in parts)
    reached = all(load["reached"] for load in loads)
    cold_s = summary["cold_start_total_s"]
    results = {
        "processors": args.processors, "connections": args.connections, "interval_s": args.interval,
        "scale_up_cooldown_s": args.scale_up_cooldown, "scale_to_zero_after_s": args.scale_to_zero_after,
        "hold_s": args.hold, "max_allocations": MAX_ALLOCATIONS, "runs_count": len(runs),
        **summary, "reached_max_allocations": reached,
        "new_worker_each_cold_start": all(run["cold_start"]["new_worker"] for run in runs),
        "failed": failed,
        "server_failures": sum(run[part]["server_failures"] for run in runs for part in parts),
        "cache_hits": sum(run[part]["cache_hits"] for run in runs for part in parts),
        "repeated_requests": sum(load["load"]["repeated"] for load in loads),
        "served_per_s": median([load["load"]["requests_per_s"] for load in loads]),
        "load_generator": load_generator_summary(loads), "runs": runs,
    }
    met = cold_s is not None and cold_s < TARGET_COLD_START_S and reached and failed == 0
    target = (f"cold start < {TARGET_COLD_START_S:g} s (got {_seconds(cold_s)}), {MAX_ALLOCATIONS} allocations "
              f"reached in every run ({'yes' if reached else 'no'}), 0 failed (got {failed})")
    finish(args, "adaptive", results, target, met, started)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
