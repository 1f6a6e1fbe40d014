"""The bounded queue's admission: documents in, admitted whole or refused whole, never over capacity.

`queue_capacity` counts documents waiting for an allocation. A request reserves all its documents at
once under a lock, before any await, so concurrent requests can never together overshoot the capacity
(Ray Serve's check-then-await over-rejects and can overshoot; this cannot). The reservation is a context
manager: documents leave the queue when an allocation takes them, and whatever is left is released on
completion, timeout or cancellation, exactly once.
"""

from __future__ import annotations

import threading
from types import TracebackType

from inferd.errors import QueueFull


class Admission:
    """One deployment's queue on one node."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1")
        self._capacity = capacity
        self._waiting = 0
        self._rejected = 0
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Documents admitted and not yet taken by an allocation."""
        return self._waiting

    @property
    def rejected(self) -> int:
        """Requests refused because the queue was full (`rejected_execution_count`)."""
        return self._rejected

    def admit(self, documents: int) -> Reservation:
        """Reserve room for all `documents` or raise QueueFull, leaving the queue as it was."""
        if documents < 1:
            raise ValueError("a request has at least one document")
        with self._lock:
            if self._waiting + documents > self._capacity:
                self._rejected += 1
                raise QueueFull(
                    f"inference process queue is full. Unable to execute command: [{documents}] documents do not "
                    f"fit, [{self._waiting}] of [{self._capacity}] places are taken"
                )
            self._waiting += documents
        return Reservation(self, documents)

    def _leave(self, documents: int) -> None:
        with self._lock:
            self._waiting -= documents


class Reservation:
    """A request's places in the queue, given back as its documents are taken or when it ends."""

    def __init__(self, admission: Admission, documents: int) -> None:
        self._admission = admission
        self._held = documents

    @property
    def held(self) -> int:
        return self._held

    def taken(self, documents: int) -> None:
        """An allocation took `documents` of this request: they no longer wait."""
        documents = min(documents, self._held)
        self._held -= documents
        self._admission._leave(documents)

    def release(self) -> None:
        """Give back what is still held; safe to call more than once."""
        self.taken(self._held)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
