"""The remote data path against the local one: a worker reached over its authenticated TCP link, or its pipes.

With `--cluster ray` the server reaches each worker over TCP (`runtime/tcp_channel.py`, the same msgspec frames as
a local worker's pipes); this measures what that costs on one machine, with all-MiniLM-L6-v2 and ~12-token
documents, one allocation of one thread per worker, the worker's inference cache off:

- added latency: one single-document batch at a time through each path; the remote p50 minus the local p50;
- throughput: `--in-flight` batches of `--batch` documents kept in flight for `--duration` s; remote over local;
- the paths' own round trip, no model: a stats request answered by the worker's main loop (pipe, TCP), and, for
  the choice of path, a Ray actor call carrying the same single-document batch (skipped with `--no-ray` or
  without Ray), which is what each batch would pay were it sent as a Ray task.

Each round starts a fresh worker of each kind and alternates between them, request by request and in 0.5 s windows of
throughput, so that the machine's drift and other jobs weigh on both alike; the figures are medians of the rounds'
(three by default). Prints one table and the target, writes JSON.

    .venv/bin/python bench/remote_path.py [--requests 400] [--duration 5] [--rounds 3] [--no-ray]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import DEFAULT_CACHE, sentences_of_length, traced_model  # noqa: E402
from report import finish, machine_state, median, print_table  # noqa: E402

from inferd.runtime.process_channel import start_worker_process  # noqa: E402
from inferd.runtime.protocol import (  # noqa: E402
    BatchDone,
    FromWorker,
    InferBatch,
    InferRequest,
    LoadModel,
    Ready,
    WorkerStats,
    pack,
)
from inferd.runtime.remote_worker import definition_file, spawn_remote_worker  # noqa: E402
from inferd.runtime.tcp_channel import connect_worker  # noqa: E402
from inferd.runtime.worker_client import WorkerClient  # noqa: E402

TOKENS = 12
TARGET_ADDED_MS = 0.5
TARGET_RATIO = 0.95
WINDOW_S = 0.5
"""Throughput is measured in windows of this long, the paths taking turns."""


class Driver:
    """A worker driven as a route drives it: batches out, answers matched back by batch id."""

    def __init__(self, client: WorkerClient) -> None:
        self.client = client
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._ready: asyncio.Future[Ready] = asyncio.get_running_loop().create_future()
        self._stats: asyncio.Future[WorkerStats] | None = None
        client.listen(self._on_message)

    def _on_message(self, message: FromWorker | None) -> None:
        match message:
            case Ready():
                self._ready.set_result(message)
            case BatchDone(batch_id=batch_id):
                self._waiting.pop(batch_id).set_result(message)
            case WorkerStats() if self._stats is not None:
                self._stats.set_result(message)
            case None if not self._ready.done():
                self._ready.set_exception(RuntimeError("the worker ended before it was ready"))

    async def load(self, model: LoadModel) -> None:
        self.client.load(model)
        await asyncio.wait_for(self._ready, 120)

    async def infer(self, texts: list[str]) -> None:
        batch_id = next(self._ids)
        done = self._waiting[batch_id] = asyncio.get_running_loop().create_future()
        self.client.send_batch(InferBatch(batch_id, [InferRequest(batch_id, texts, {})]))
        answer: BatchDone = await done
        if answer.outcomes[0].failure is not None:
            raise RuntimeError(answer.outcomes[0].failure.reason)

    async def stats_round_trip(self) -> None:
        self._stats = asyncio.get_running_loop().create_future()
        self.client.request_stats()
        await self._stats

    async def close(self) -> None:
        self.client.shutdown()
        await self.client.wait_closed(30)


async def start_local(model: LoadModel, scratch: Path) -> Driver:
    driver = Driver(await start_worker_process([sys.executable, "-m", "inferd.runtime.worker"],
                                               scratch / "local-worker.log"))
    await driver.load(model)
    return driver


async def start_remote(model: LoadModel, scratch: Path) -> Driver:
    started = spawn_remote_worker(scratch / "node", scratch / "remote-worker.log", "127.0.0.1", None)
    client = await connect_worker(started.host, started.port, started.secret, name="remote", pid=started.process.pid,
                                  release=started.process.kill)
    driver = Driver(client)
    await driver.load(model)
    return driver


async def timed(call: Callable[[], Awaitable[None]], count: int) -> list[float]:
    """Milliseconds of each of `count` calls made one after another."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def throughput(driver: Driver, documents: Iterator[str], batch: int, in_flight: int, duration_s: float) -> float:
    """Documents per second with `in_flight` batches always outstanding."""
    deadline = time.perf_counter() + duration_s
    done = 0

    async def keep_sending() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await driver.infer([next(documents) for _ in range(batch)])
            done += batch

    started = time.perf_counter()
    await asyncio.gather(*(keep_sending() for _ in range(in_flight)))
    return done / (time.perf_counter() - started)


async def measure_round(model: LoadModel, scratch: Path, documents: Iterator[str],
                        args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Both paths side by side in fresh workers, taking turns request by request (latency, round trips) and window
    by window (throughput), so that the machine's drift and other jobs weigh on both alike."""
    drivers = {"local": await start_local(model, scratch), "remote": await start_remote(model, scratch)}
    try:
        latencies: dict[str, list[float]] = {name: [] for name in drivers}
        round_trips: dict[str, list[float]] = {name: [] for name in drivers}
        for driver in drivers.values():  # warm-up: TorchScript optimises its first passes
            await timed(lambda driver=driver: driver.infer([next(documents)]), 20)
        for _ in range(args.requests):
            for name, driver in drivers.items():
                latencies[name] += await timed(lambda driver=driver: driver.infer([next(documents)]), 1)
                round_trips[name] += await timed(driver.stats_round_trip, 1)
        served = dict.fromkeys(drivers, 0.0)
        windows = max(1, round(args.duration / WINDOW_S))
        for _ in range(windows):
            for name, driver in drivers.items():
                served[name] += await throughput(driver, documents, args.batch, args.in_flight, WINDOW_S) * WINDOW_S
    finally:
        for driver in drivers.values():
            await driver.close()
    return {name: {"p50_ms": statistics.median(latencies[name]),
                   "p99_ms": statistics.quantiles(latencies[name], n=100)[98],
                   "round_trip_ms_p50": statistics.median(round_trips[name]),
                   "docs_per_s": served[name] / (windows * WINDOW_S)} for name in drivers}


def ray_actor_round_trips(payload: bytes, count: int) -> list[float]:
    """Milliseconds of each of `count` Ray actor calls carrying `payload` and answering a few bytes."""
    import ray

    @ray.remote(num_cpus=0)
    class Echo:
        def answer(self, batch: bytes) -> bytes:
            return batch[:16]

    actor = Echo.remote()  # type: ignore[attr-defined]
    ray.get(actor.answer.remote(payload))
    times = []
    for _ in range(count):
        started = time.perf_counter()
        ray.get(actor.answer.remote(payload))
        times.append((time.perf_counter() - started) * 1000)
    return times


def load_message(traced: Any) -> LoadModel:
    (task_type, task_options), = traced.config["inference_config"].items()
    return LoadModel(
        definition_path=str(traced.definition_path),
        definition_sha256=hashlib.sha256(traced.definition_path.read_bytes()).hexdigest(),
        task_type=task_type, tokenization=task_options["tokenization"],
        vocabulary=traced.vocabulary["vocabulary"], merges=None, scores=None, threads_per_allocation=1,
        allocations=1, max_batch_rows=16, max_batch_tokens=384, cache_size_bytes=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="single-document batches timed per path and round")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of throughput per path and round")
    parser.add_argument("--batch", type=int, default=4, help="documents per batch in the throughput runs")
    parser.add_argument("--in-flight", type=int, default=4, help="batches kept in flight in the throughput runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray actor calls")
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_CACHE, help="the traced model is kept here")
    parser.add_argument("--json", type=Path, default=Path("bench-remote_path.json"))
    args = parser.parse_args()

    started = machine_state()
    traced = traced_model(args.model_cache)
    model = load_message(traced)
    per_path_and_round = args.requests + 20 + int(args.duration * 1000)
    documents = iter(sentences_of_length(traced, per_path_and_round * 2 * args.rounds, TOKENS, seed=11))
    rounds: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        (scratch / "node").mkdir()
        os.symlink(traced.definition_path, definition_file(scratch / "node", model.definition_sha256 or ""))
        for _ in range(args.rounds):
            rounds.append(asyncio.run(measure_round(model, scratch, documents, args)))
    ray_ms = None
    if not args.no_ray:
        try:
            import ray
        except ImportError:
            print("Ray is not installed: no actor calls measured")
        else:
            ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            try:
                single = pack(InferBatch(1, [InferRequest(1, [next(documents)], {})]))
                ray_ms = statistics.median(ray_actor_round_trips(single, args.requests))
            finally:
                ray.shutdown()

    def across(path: str, key: str) -> float:
        return median([measured[path][key] for measured in rounds])

    added = median([measured["remote"]["p50_ms"] - measured["local"]["p50_ms"] for measured in rounds])
    ratio = median([measured["remote"]["docs_per_s"] / measured["local"]["docs_per_s"] for measured in rounds])
    print_table(["path", "p50 ms", "p99 ms", "round trip ms", "docs/s"], [
        [path, across(path, "p50_ms"), across(path, "p99_ms"), across(path, "round_trip_ms_p50"),
         across(path, "docs_per_s")] for path in ("local", "remote")
    ] + ([["ray actor call", "", "", ray_ms, ""]] if ray_ms is not None else []))
    print(f"remote adds {added:+.3f} ms at p50; throughput remote/local {ratio:.3f}"
          + (f"; a Ray actor call costs {ray_ms:.3f} ms" if ray_ms is not None else ""))
    target = f"remote adds < {TARGET_ADDED_MS} ms at p50 and keeps >= {TARGET_RATIO} of local throughput"
    results = {"added_ms_p50": added, "throughput_ratio": ratio, "ray_actor_call_ms_p50": ray_ms,
               "tokens_per_document": TOKENS, "rounds": rounds}
    finish(args, "remote_path", results, target, added < TARGET_ADDED_MS and ratio >= TARGET_RATIO, started)


if __name__ == "__main__":
    main()
