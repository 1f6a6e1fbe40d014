"""The data plane: a route per deployment and node (its bounded queue, batcher, timers and watchdog), the worker
that runs a model's allocations over one copy of its weights, the messages between them, and the seam a route
reaches its worker through (a process's pipes, or a thread in tests)."""

from inferd.runtime.admission import Admission, Reservation

__all__ = ["Admission", "Reservation"]
