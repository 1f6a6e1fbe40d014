"""The LFU cache: eviction by frequency then age, the byte bound, size 0, oversized entries, clear, threads."""

from __future__ import annotations

import threading

from inferd.runtime.cache import LfuCache


def entry(name: str, value_bytes: int = 9) -> tuple[bytes, bytes]:
    """A one-byte key and a value: each entry weighs 1 + value_bytes."""
    return name.encode(), b"v" * value_bytes


def test_a_stored_value_is_found_and_counted_as_a_hit() -> None:
    cache = LfuCache(100)
    assert cache.get(b"a") is None
    assert cache.put(b"a", b"result")
    assert cache.get(b"a") == b"result"
    assert (cache.hits, cache.misses, len(cache), cache.size_bytes) == (1, 1, 1, 1 + 6)


def test_the_least_frequently_used_entry_is_evicted_first() -> None:
    cache = LfuCache(30)  # three entries of 10 bytes
    for name in "abc":
        cache.put(*entry(name))
    cache.get(b"a")
    cache.get(b"a")
    cache.get(b"b")
    cache.put(*entry("d"))  # c was used least
    assert [name for name in "abcd" if cache.get(name.encode()) is not None] == ["a", "b", "d"]


def test_among_equally_used_entries_the_one_that_reached_its_count_first_goes_first() -> None:
    cache = LfuCache(30)
    for name in "abc":
        cache.put(*entry(name))
    cache.put(*entry("d"))  # all used once: a, the oldest, goes
    assert cache.get(b"a") is None
    cache.get(b"c")
    cache.get(b"b")
    cache.get(b"d")  # all used twice, c first
    cache.put(*entry("e"))
    assert [name for name in "bcde" if cache.get(name.encode()) is not None] == ["b", "d", "e"]


def test_the_bound_is_in_bytes_and_several_small_entries_make_room_for_a_large_one() -> None:
    cache = LfuCache(40)
    for name in "abcd":
        cache.put(*entry(name))
    assert cache.size_bytes == 40
    assert cache.put(b"x", b"v" * 24)  # 25 bytes: three 10-byte entries must go
    assert cache.size_bytes == 10 + 25 and len(cache) == 2
    assert cache.get(b"d") is not None and cache.get(b"x") is not None


def test_an_entry_larger_than_the_bound_is_not_stored_and_evicts_nothing() -> None:
    cache = LfuCache(20)
    cache.put(*entry("a"))
    assert not cache.put(b"big", b"v" * 18)  # 21 bytes > 20
    assert cache.get(b"big") is None and cache.get(b"a") is not None
    assert cache.size_bytes == 10


def test_size_zero_disables_the_cache() -> None:
    cache = LfuCache(0)
    assert not cache.enabled
    assert not cache.put(b"a", b"")
    assert cache.get(b"a") is None and len(cache) == 0


def test_storing_a_key_again_keeps_its_uses() -> None:
    cache = LfuCache(20)
    cache.put(*entry("a"))
    cache.get(b"a")
    cache.put(*entry("a"))
    cache.put(*entry("b"))
    cache.put(*entry("c"))  # b, used once, goes; a keeps its two uses
    assert cache.get(b"a") is not None and cache.get(b"b") is None


def test_clear_empties_the_cache_and_keeps_the_counters() -> None:
    cache = LfuCache(100)
    cache.put(*entry("a"))
    cache.get(b"a")
    cache.clear()
    assert (len(cache), cache.size_bytes) == (0, 0)
    assert cache.get(b"a") is None
    assert (cache.hits, cache.misses) == (1, 1)
    cache.put(*entry("b"))  # usable after a clear
    assert cache.get(b"b") is not None


def test_concurrent_use_keeps_the_bound_and_the_counts() -> None:
    cache = LfuCache(500)
    rounds = 2000

    def work(seed: int) -> None:
        for index in range(rounds):
            key = f"{seed}-{index % 97}".encode()
            if cache.get(key) is None:
                cache.put(key, b"v" * (index % 13))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.hits + cache.misses == 4 * rounds
    assert 0 < cache.size_bytes <= 500
    stored = {key: cache.get(key) for seed in range(4) for key in (f"{seed}-{n}".encode() for n in range(97))}
    assert cache.size_bytes == sum(len(key) + len(value) for key, value in stored.items() if value is not None)
