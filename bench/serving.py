"""A deployment under load: a warm-up, then three measured runs, each with sentences no other run sent.

Each run reads the deployment's stats before and after, so it reports what the server saw besides what
the load generator saw: documents inferred, cache hits (expected 0: every sentence is new) and failures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from load import run_load
from report import RUNS, median
from server import Server, cache_hits, failure_count, inference_count


class SentenceSupply:
    """Hands out distinct sentences, each once; `take` gives a run its share."""

    def __init__(self, sentences: list[str]) -> None:
        self._sentences: Iterator[str] = iter(sentences)
        self.left = len(sentences)

    def take(self, count: int) -> list[str]:
        taken = [sentence for _, sentence in zip(range(count), self._sentences, strict=False)]
        self.left -= len(taken)
        if not taken:
            raise RuntimeError("ran out of distinct sentences; raise --max-rate")
        return taken


def measured_run(server: Server, generator: str, texts: list[str], connections: int,
                 duration_s: float) -> dict[str, Any]:
    before = server.stats()
    load = run_load(generator, server.infer_url, texts, connections, duration_s, server.authorization)
    after = server.stats()
    return {
        "load": load.as_dict(),
        "served_per_s": load.requests_per_s,
        "failed": load.failed,
        "server_failures": failure_count(after) - failure_count(before),
        "inferred_documents": inference_count(after) - inference_count(before),
        "cache_hits": cache_hits(after) - cache_hits(before),
    }


def measure_served(server: Server, generator: str, supply: SentenceSupply, *, connections: int, duration_s: float,
                   warmup_s: float, max_rate: int) -> dict[str, Any]:
    """Warm up, then `RUNS` runs; medians of rate and latency, sums of failures and cache hits."""
    if warmup_s > 0:
        run_load(generator, server.infer_url, supply.take(int(warmup_s * max_rate) + 1), connections, warmup_s,
                 server.authorization)
    runs = [measured_run(server, generator, supply.take(int(duration_s * max_rate) + 1), connections, duration_s)
            for _ in range(RUNS)]
    return {
        "served_per_s": median([run["served_per_s"] for run in runs]),
        "latency_ms_p50": median([run["load"]["latency_ms"]["p50"] for run in runs]),
        "latency_ms_p99": median([run["load"]["latency_ms"]["p99"] for run in runs]),
        "failed": sum(run["failed"] for run in runs),
        "cache_hits": sum(run["cache_hits"] for run in runs),
        "repeated_requests": sum(run["load"]["repeated"] for run in runs),
        "runs": runs,
    }
