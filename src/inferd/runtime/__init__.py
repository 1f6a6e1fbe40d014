"""The data plane: admission to the bounded queue, worker processes, batching (being built)."""

from inferd.runtime.admission import Admission, Reservation

__all__ = ["Admission", "Reservation"]
