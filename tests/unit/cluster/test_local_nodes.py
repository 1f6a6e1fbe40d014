"""This machine split into virtual nodes: processors and memory shared, GPUs dealt whole, each under its own index."""

from __future__ import annotations

from inferd.cluster.local import split_machine
from inferd.runtime.device import GpuDevice

GB = 1024**3


def test_without_gpus_the_nodes_offer_none() -> None:
    assert [node.gpus for node in split_machine(4, 8 * GB, 2)] == [(), ()]


def test_gpus_are_dealt_in_turn_each_to_one_node() -> None:
    gpus = [GpuDevice(index, "G", 16 * GB) for index in range(3)]
    nodes = split_machine(4, 8 * GB, 2, gpus)
    assert [[gpu.index for gpu in node.gpus] for node in nodes] == [[0, 2], [1]]
    assert [node.memory_bytes for node in nodes] == [4 * GB, 4 * GB]  # host memory split, GPU memory not
    assert split_machine(2, GB, 1, gpus)[0].gpus == tuple(gpus)
    assert [len(node.gpus) for node in split_machine(4, GB, 4, gpus[:1])] == [1, 0, 0, 0]
