"""A route's counters, in the terms of Elasticsearch's deployment stats (reference §1.5).

Times are allocation time per document: a batch's wall time divided by its documents, so batching does not
inflate `average_inference_time_ms` (the adaptive scaler's load formula depends on it). A document answered
from the inference cache still counts as an inference, and in `inference_cache_hit_count`; the time excluding
cache hits is that of batches that ran the model, over the documents that did (a hit costs one lookup, nothing
next to a forward pass). The last-minute figures come from one-second buckets over a sliding minute.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60


@dataclass
class _Second:
    second: int
    documents: int = 0
    cache_hits: int = 0
    time_ms: float = 0.0


class RouteStats:
    def __init__(self, monotonic_s: Callable[[], float], now_ms: Callable[[], int]) -> None:
        self._monotonic_s = monotonic_s
        self._now_ms = now_ms
        self.inference_count = 0
        self.inference_cache_hit_count = 0
        self.error_count = 0
        self.timeout_count = 0
        self.total_time_ms = 0.0
        self.time_excluding_cache_hits_ms = 0.0
        self.last_access_ms: int | None = None
        self.peak_throughput_per_minute = 0
        self._seconds: deque[_Second] = deque()

    def record_batch(self, documents: int, cache_hits: int, batch_time_ms: float) -> None:
        """`documents` (`cache_hits` of them from the cache) were answered by one batch of `batch_time_ms`."""
        self.inference_count += documents
        self.inference_cache_hit_count += cache_hits
        self.total_time_ms += batch_time_ms
        if documents > cache_hits:
            self.time_excluding_cache_hits_ms += batch_time_ms
        self.last_access_ms = self._now_ms()
        bucket = self._bucket()
        bucket.documents += documents
        bucket.cache_hits += cache_hits
        bucket.time_ms += batch_time_ms
        self.peak_throughput_per_minute = max(self.peak_throughput_per_minute, self.throughput_last_minute)

    def record_error(self, requests: int = 1) -> None:
        self.error_count += requests
        self.last_access_ms = self._now_ms()

    def record_timeout(self) -> None:
        self.timeout_count += 1

    @property
    def average_inference_time_ms(self) -> float | None:
        return self.total_time_ms / self.inference_count if self.inference_count else None

    @property
    def average_inference_time_ms_excluding_cache_hits(self) -> float:
        """0 when every document was a hit, as Elasticsearch's empty summary statistics give."""
        computed = self.inference_count - self.inference_cache_hit_count
        return self.time_excluding_cache_hits_ms / computed if computed else 0.0

    @property
    def throughput_last_minute(self) -> int:
        return sum(bucket.documents for bucket in self._recent())

    @property
    def inference_cache_hit_count_last_minute(self) -> int:
        return sum(bucket.cache_hits for bucket in self._recent())

    @property
    def average_inference_time_ms_last_minute(self) -> float | None:
        recent = self._recent()
        documents = sum(bucket.documents for bucket in recent)
        return sum(bucket.time_ms for bucket in recent) / documents if documents else None

    def _bucket(self) -> _Second:
        second = int(self._monotonic_s())
        if not self._seconds or self._seconds[-1].second != second:
            self._seconds.append(_Second(second))
        self._drop_old(second)
        return self._seconds[-1]

    def _recent(self) -> list[_Second]:
        self._drop_old(int(self._monotonic_s()))
        return list(self._seconds)

    def _drop_old(self, second: int) -> None:
        while self._seconds and self._seconds[0].second <= second - WINDOW_S:
            self._seconds.popleft()
