"""Admission to the bounded queue: whole requests, exact counts, no overshoot under contention."""

from __future__ import annotations

import threading

import pytest

from inferd.errors import QueueFull
from inferd.runtime import Admission


def test_requests_are_admitted_whole_or_refused_whole() -> None:
    queue = Admission(capacity=5)
    first = queue.admit(3)
    with pytest.raises(QueueFull) as refused:
        queue.admit(3)
    assert refused.value.status == 429 and refused.value.error_type == "es_rejected_execution_exception"
    assert (queue.waiting, queue.rejected) == (3, 1)
    second = queue.admit(2)
    assert queue.waiting == 5
    first.release()
    second.release()
    assert queue.waiting == 0


def test_taken_documents_free_their_places_and_release_is_idempotent() -> None:
    queue = Admission(capacity=4)
    with queue.admit(4) as reservation:
        reservation.taken(3)
        assert queue.waiting == 1
        queue.admit(3).release()
    assert queue.waiting == 0
    reservation.release()
    assert queue.waiting == 0


def test_a_failure_inside_the_request_gives_its_places_back() -> None:
    queue = Admission(capacity=2)
    with pytest.raises(TimeoutError):
        with queue.admit(2):
            raise TimeoutError
    assert queue.waiting == 0


def test_concurrent_requests_never_overshoot() -> None:
    queue = Admission(capacity=100)
    admitted: list[int] = []
    start = threading.Barrier(16)

    def client() -> None:
        start.wait()
        for _ in range(50):
            try:
                queue.admit(3)
            except QueueFull:
                continue
            admitted.append(3)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == queue.waiting == 99  # 33 requests of 3 fit in 100; nothing more
    assert queue.rejected == 16 * 50 - 33
