"""Where workers run: the backend seam the control plane talks to, and its local implementation."""

from inferd.cluster.backend import ClusterBackend
from inferd.cluster.local import LocalCluster, split_machine

__all__ = ["ClusterBackend", "LocalCluster", "split_machine"]
