"""A route's counters with cache hits: hits are inferences, and time excluding hits is that of computed documents."""

from __future__ import annotations

from inferd.runtime.stats import WINDOW_S, RouteStats


class Time:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def monotonic(self) -> float:
        return self.now_s

    def now_ms(self) -> int:
        return int(self.now_s * 1000)


def test_cache_hits_count_as_inferences_and_apart() -> None:
    time = Time()
    stats = RouteStats(time.monotonic, time.now_ms)
    stats.record_batch(documents=4, cache_hits=1, batch_time_ms=40.0)  # ran the model for 3 of 4
    stats.record_batch(documents=2, cache_hits=2, batch_time_ms=2.0)  # all from the cache
    assert (stats.inference_count, stats.inference_cache_hit_count) == (6, 3)
    assert stats.average_inference_time_ms == 42.0 / 6
    assert stats.average_inference_time_ms_excluding_cache_hits == 40.0 / 3
    assert stats.inference_cache_hit_count_last_minute == 3


def test_hits_leave_the_last_minute_with_their_bucket() -> None:
    time = Time()
    stats = RouteStats(time.monotonic, time.now_ms)
    stats.record_batch(documents=1, cache_hits=1, batch_time_ms=1.0)
    time.now_s += WINDOW_S / 2
    stats.record_batch(documents=2, cache_hits=1, batch_time_ms=1.0)
    assert stats.inference_cache_hit_count_last_minute == 2
    time.now_s += WINDOW_S / 2
    assert stats.inference_cache_hit_count_last_minute == 1
    assert stats.inference_cache_hit_count == 2


def test_only_hits_give_zero_time_excluding_hits() -> None:
    time = Time()
    stats = RouteStats(time.monotonic, time.now_ms)
    stats.record_batch(documents=3, cache_hits=3, batch_time_ms=0.5)
    assert stats.average_inference_time_ms_excluding_cache_hits == 0.0
