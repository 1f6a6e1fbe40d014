"""The cluster backend the settings name: the local one needs nothing, Ray's says how to install it when missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from inferd.api.app import cluster_backend
from inferd.cluster.local import LocalCluster
from inferd.settings import ClusterKind, Settings
from tests.support.clock import FakeClock


def test_the_local_backend_is_the_default_and_splits_the_machine(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, processors=4, ml_memory="4gb", nodes=2)
    backend = cluster_backend(settings, FakeClock(), "a-cluster-uuid")
    assert settings.cluster is ClusterKind.LOCAL and isinstance(backend, LocalCluster)
    assert [(node.node_id, node.processors) for node in backend.nodes()] == [("node-0", 2), ("node-1", 2)]


def test_the_ray_backend_without_ray_says_which_extra_to_install(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "inferd.cluster.ray_cluster", None)  # as if Ray were not installed
    monkeypatch.setenv("INFERD_CLUSTER", "ray")
    with pytest.raises(RuntimeError, match=r"--cluster ray needs Ray: pip install 'inferd\[ray\]'"):
        cluster_backend(Settings(data_dir=tmp_path), FakeClock(), "a-cluster-uuid")


def test_options_that_divide_this_machine_are_refused_with_ray(tmp_path: Path) -> None:
    for option in ({"nodes": 2}, {"processors": 4}, {"ml_memory": "8gb"}):
        with pytest.raises(ValidationError, match="with --cluster ray the nodes, their processors and memory are the "
                                                  "Ray cluster's"):
            Settings(data_dir=tmp_path, cluster=ClusterKind.RAY, **option)
