"""The raw TorchScript baseline: the traced model's own forward pass, no server, on the same processors.

A layout is `processes x threads x intra-op threads`: "1 thread x 2 intra-op" is one thread whose
forward passes use two intra-op threads, "2 threads x 1" two Python threads of one process each
running its own forward passes, "2 processes" two OS processes of one thread each. Every layout runs in
fresh processes forked from a server that has imported torch and run nothing (so no torch setting or
thread pool leaks into them), each participant
loads nothing but the TorchScript file and feeds it pre-tokenized batches of the benchmark's sentences
(equal length: no padding, no tokenizing in the timed loop). For each batch size all participants
start together behind a barrier and run for `seconds`; a layout's rate is the sum of its
participants' rates, the median of `runs` runs. `BatchOneSession` keeps one such process loaded and times
batch-1 passes on request, for measurements interleaved with served ones.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

WARMUP_PASSES = 3  # TorchScript's profiling executor optimises a shape after its first passes


@dataclass(frozen=True)
class Layout:
    processes: int
    threads: int
    intra_op: int

    @property
    def name(self) -> str:
        if self.processes > 1:
            return f"{self.processes} processes x {self.intra_op}"
        return f"{self.threads} thread{'s' if self.threads > 1 else ''} x {self.intra_op} intra-op"


def hardware_layouts(processors: int) -> list[Layout]:
    """The ways to use every processor: intra-op threads, Python threads, processes."""
    layouts = [Layout(1, 1, processors)]
    if processors > 1:
        layouts += [Layout(1, processors, 1), Layout(processors, 1, 1)]
    return layouts


def token_ids(tokenizer: Any, texts: list[str]) -> np.ndarray:
    """[sentences, tokens] ids of sentences that all tokenize to the same length."""
    rows = [tokenizer.encode(text)[0].token_ids for text in texts]
    if len({len(row) for row in rows}) != 1:
        raise ValueError("the raw baseline needs sentences of equal token length")
    return np.array(rows, dtype=np.int64)


def _batches(ids: np.ndarray, size: int) -> list[tuple[Any, Any, Any, Any]]:
    """The four model inputs of each batch of `size` consecutive sentences."""
    import torch

    batches = []
    for first in range(0, len(ids) - size + 1, size):
        batch = torch.from_numpy(ids[first:first + size].copy())
        positions = torch.arange(batch.shape[1]).expand(batch.shape[0], -1).contiguous()
        batches.append((batch, torch.ones_like(batch), torch.zeros_like(batch), positions))
    return batches


def _timed_passes(module: Any, batches: list[tuple[Any, Any, Any, Any]], seconds: float, first: int = 0) -> list[float]:
    """Forward passes back to back for `seconds` (at least one), cycling through `batches`: each one's seconds."""
    forward_s: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or not forward_s:
        inputs = batches[(first + len(forward_s)) % len(batches)]
        begun = time.perf_counter()
        module(*inputs)
        forward_s.append(time.perf_counter() - begun)
    return forward_s


def _forward_ms(forward_s: list[float]) -> dict[str, float]:
    return {"forward_ms_p50": 1000 * statistics.median(forward_s), "forward_ms_p99": 1000 * float(np.percentile(forward_s, 99))}


def _participant(module: Any, ids: np.ndarray, offset: int, sizes: list[int], seconds: float, runs: int,
                 barrier: Any) -> list[dict[str, Any]]:
    import torch

    measured = []
    ids = np.roll(ids, -offset, axis=0)  # participants start at different sentences
    for size in sizes:
        batches = _batches(ids, size)
        with torch.inference_mode():
            for inputs in batches[:WARMUP_PASSES]:
                module(*inputs)
            for run in range(runs):
                barrier.wait()
                started = time.perf_counter()
                forward_s = _timed_passes(module, batches, seconds)
                elapsed = time.perf_counter() - started
                measured.append({"batch": size, "run": run, "documents": size * len(forward_s), "elapsed_s": elapsed,
                                 **_forward_ms(forward_s)})
    return measured


def _process_main(definition: str, ids: np.ndarray, layout: Layout, index: int, sizes: list[int], seconds: float,
                  runs: int, barrier: Any, results: Any) -> None:
    module = _load(definition, layout.intra_op)
    measured: list[list[dict[str, Any]]] = [[] for _ in range(layout.threads)]

    def run(thread: int) -> None:
        participant = index * layout.threads + thread
        offset = participant * len(ids) // (layout.processes * layout.threads)
        measured[thread] = _participant(module, ids, offset, sizes, seconds, runs, barrier)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(layout.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(measured)


def _load(definition: str, intra_op: int) -> Any:
    import torch

    torch.set_num_interop_threads(1)
    torch.set_num_threads(1)  # as the worker loads: the loading thread starts no OpenMP team (runtime/worker.py)
    module = torch.jit.load(definition, map_location="cpu").eval()
    torch.set_num_threads(intra_op)
    return module


def _fork_server() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch"])  # imported once by the fork server, never used there before a fork
    return context


def measure(definition: Path, ids: np.ndarray, layout: Layout, sizes: list[int], seconds: float,
            runs: int) -> dict[str, Any]:
    """Documents/s per batch size (median of `runs`) for one layout, with each run's figures."""
    context = _fork_server()
    barrier = context.Barrier(layout.processes * layout.threads)
    results = context.Queue()
    processes = [context.Process(target=_process_main, args=(str(definition), ids, layout, index, sizes, seconds,
                                                              runs, barrier, results))
                 for index in range(layout.processes)]
    for process in processes:
        process.start()
    participants = [row for _ in processes for row in results.get(timeout=1800)]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a raw baseline process of layout {layout.name} exited with {process.exitcode}")
    batches = []
    for size in sizes:
        rates = [sum(row["documents"] / row["elapsed_s"] for rows in participants for row in rows
                     if row["batch"] == size and row["run"] == run) for run in range(runs)]
        first = [row for row in participants[0] if row["batch"] == size]
        batches.append({"batch": size, "docs_per_s": statistics.median(rates), "runs_docs_per_s": rates,
                        "forward_ms_p50": statistics.median(row["forward_ms_p50"] for row in first),
                        "forward_ms_p99": statistics.median(row["forward_ms_p99"] for row in first)})
    best = max(batches, key=lambda row: row["docs_per_s"])
    return {"layout": layout.name, "processes": layout.processes, "threads": layout.threads,
            "intra_op_threads": layout.intra_op, "batches": batches,
            "best_batch": best["batch"], "best_docs_per_s": best["docs_per_s"]}


class BatchOneSession:
    """One raw process that keeps the model loaded and times batch-1 passes whenever asked.

    The latency benchmark alternates raw and served measurements because this machine's speed drifts; loading
    the model for each raw measurement set the two seconds apart, this keeps them back to back.
    """

    def __init__(self, definition: Path, ids: np.ndarray, intra_op: int) -> None:
        context = _fork_server()
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_session_main, args=(str(definition), ids, intra_op, child))

    def __enter__(self) -> BatchOneSession:
        self._process.start()
        self._connection.recv()  # loaded and warmed up
        return self

    def forward_ms(self, seconds: float) -> dict[str, float]:
        """p50 and p99 of `seconds` of back-to-back batch-1 forward passes."""
        self._connection.send(seconds)
        return self._connection.recv()

    def __exit__(self, *_: object) -> None:
        self._connection.send(None)
        self._process.join(timeout=30)
        if self._process.exitcode != 0:
            raise RuntimeError(f"the raw batch-1 process exited with {self._process.exitcode}")


def _session_main(definition: str, ids: np.ndarray, intra_op: int, connection: Any) -> None:
    import torch

    module = _load(definition, intra_op)
    batches = _batches(ids, 1)
    passes = 0
    with torch.inference_mode():
        for inputs in batches[:WARMUP_PASSES]:
            module(*inputs)
        connection.send("ready")
        while (seconds := connection.recv()) is not None:
            forward_s = _timed_passes(module, batches, seconds, passes)
            passes += len(forward_s)  # each measurement goes on to new sentences
            connection.send(_forward_ms(forward_s))
