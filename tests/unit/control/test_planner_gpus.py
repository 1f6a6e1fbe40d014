"""The planner with GPU nodes: a GPU deployment only where its device is, its estimate charged once to one GPU
(shared by its allocations there), kept on the GPU it runs on, shortfalls explained, CPU deployments unchanged."""

from __future__ import annotations

from inferd.cluster.nodes import Node
from inferd.control.planner import Demand, device_problem, plan_allocations
from inferd.runtime.device import CPU, DeviceRequest, GpuDevice

GB = 1024**3
CUDA = DeviceRequest.parse("cuda")


def gpus(*sizes_gb: int) -> tuple[GpuDevice, ...]:
    return tuple(GpuDevice(index, f"Fake GPU {index}", size * GB) for index, size in enumerate(sizes_gb))


def gpu_demand(deployment_id: str, allocations: int, gpu_gb: int, device: str = "cuda", **more: object) -> Demand:
    """A GPU deployment whose host share is its (small) cache: 0 unless given."""
    return Demand(deployment_id, allocations, 1, int(more.pop("host", 0)), device=DeviceRequest.parse(device),  # type: ignore[call-overload]
                  gpu_memory_bytes=gpu_gb * GB, **more)  # type: ignore[arg-type]


def test_a_gpu_deployment_goes_only_to_a_node_with_a_gpu_and_says_which() -> None:
    nodes = [Node("cpu-node", 8, 64 * GB), Node("gpu-node", 4, 16 * GB, gpus=gpus(24))]
    plan = plan_allocations(nodes, [gpu_demand("d", 2, 2)])
    assert plan.allocations == {"d": {"gpu-node": 2}}
    assert plan.gpus == {"d": {"gpu-node": 0}}
    assert plan.reasons == {}


def test_the_estimate_is_charged_to_the_gpu_not_the_host() -> None:
    # 1 GB of host memory could never hold a 10 GB estimate; the GPU can.
    plan = plan_allocations([Node("n", 4, 1 * GB, gpus=gpus(16))], [gpu_demand("d", 1, 10)])
    assert plan.allocations == {"d": {"n": 1}}
    # ... and the same estimate does not fit a GPU of 8 GB however much host memory there is.
    short = plan_allocations([Node("n", 4, 512 * GB, gpus=gpus(8))], [gpu_demand("d", 1, 10)])
    assert short.allocations == {"d": {}}
    assert short.reasons["d"] == (
        "Could not assign (more) allocations on node [n]. Reason: This node has insufficient available GPU memory. "
        "Available memory on [cuda:0] [8gb], free memory [8gb], estimated memory required for this model [10gb].")


def test_allocations_on_one_gpu_share_the_weights() -> None:
    # Four allocations of a 10 GB model on a 16 GB GPU: charged once, so all fit (processors permitting).
    plan = plan_allocations([Node("n", 4, 8 * GB, gpus=gpus(16))], [gpu_demand("d", 4, 10)])
    assert plan.allocations == {"d": {"n": 4}} and plan.gpus == {"d": {"n": 0}}


def test_gpu_allocations_still_take_processors() -> None:
    plan = plan_allocations([Node("n", 2, 8 * GB, gpus=gpus(16))], [gpu_demand("d", 3, 1)])
    assert plan.allocations == {"d": {"n": 2}}
    assert "insufficient allocated processors" in plan.reasons["d"]


def test_two_deployments_fill_two_gpus_each_taking_the_freest() -> None:
    nodes = [Node("n", 8, 8 * GB, gpus=gpus(16, 24))]
    plan = plan_allocations(nodes, [gpu_demand("a", 1, 12), gpu_demand("b", 1, 12)])
    assert plan.allocations == {"a": {"n": 1}, "b": {"n": 1}}
    assert {plan.gpus["a"]["n"], plan.gpus["b"]["n"]} == {0, 1}  # 12 + 12 fits neither GPU alone
    # a takes the 24 GB GPU (the freest), b the 16 GB one: 12 GB and 4 GB are left; 11 GB more fit beside a.
    third = plan_allocations(nodes, [gpu_demand("a", 1, 12), gpu_demand("b", 1, 12), gpu_demand("c", 1, 11)])
    assert third.gpus == {"a": {"n": 1}, "b": {"n": 0}, "c": {"n": 1}}
    # The largest is placed first: 13 GB on the 24 GB GPU, 12 on the 16 GB one, and the other 12 fits neither.
    crowded = plan_allocations(nodes, [gpu_demand("a", 1, 12), gpu_demand("b", 1, 12), gpu_demand("c", 1, 13)])
    assert crowded.gpus == {"c": {"n": 1}, "a": {"n": 0}} and crowded.allocations["b"] == {}
    assert ("[cuda:0] [16gb], free memory [4gb], Available memory on [cuda:1] [24gb], free memory [11gb], "
            "estimated memory required for this model [12gb].") in crowded.reasons["b"]


def test_the_freest_gpu_is_chosen_and_the_lowest_index_among_equals() -> None:
    assert plan_allocations([Node("n", 4, GB, gpus=gpus(8, 24, 24))], [gpu_demand("d", 1, 1)]).gpus == {"d": {"n": 1}}
    assert plan_allocations([Node("n", 4, GB, gpus=gpus(8, 8))], [gpu_demand("d", 1, 1)]).gpus == {"d": {"n": 0}}


def test_a_pinned_index_is_honoured_even_when_another_gpu_is_freer() -> None:
    nodes = [Node("n1", 4, GB, gpus=gpus(8)), Node("n2", 4, GB, gpus=gpus(8, 80))]
    plan = plan_allocations(nodes, [gpu_demand("d", 1, 2, device="cuda:0", current={}),
                                    gpu_demand("e", 2, 2, device="cuda:1")])
    assert plan.gpus["d"] in ({"n1": 0}, {"n2": 0})
    assert plan.allocations["e"] == {"n2": 2} and plan.gpus["e"] == {"n2": 1}
    nowhere = plan_allocations([Node("n1", 4, GB, gpus=gpus(8))], [gpu_demand("d", 1, 1, device="cuda:1")])
    assert nowhere.reasons["d"] == "Could not assign (more) allocations on node [n1]. Reason: This node has no [cuda:1] device."


def test_a_running_worker_stays_on_its_gpu() -> None:
    node = Node("n", 4, GB, gpus=gpus(8, 80))
    plan = plan_allocations([node], [gpu_demand("d", 2, 2, current={"n": 1}, current_gpus={"n": 0})])
    assert plan.allocations == {"d": {"n": 2}} and plan.gpus == {"d": {"n": 0}}


def test_a_running_worker_whose_gpu_no_longer_fits_moves_to_one_that_does() -> None:
    node = Node("n", 4, GB, gpus=gpus(8, 80))
    held = {"n": {0: 7 * GB}}  # another deployment's draining worker holds most of GPU 0
    plan = plan_allocations([node], [gpu_demand("d", 1, 2, current={"n": 1}, current_gpus={"n": 0}),
                                     gpu_demand("old", 0, 1, held_gpu_memory_bytes=held)])
    assert plan.gpus["d"] == {"n": 1}


def test_gpu_memory_held_by_a_rollouts_old_workers_is_taken() -> None:
    node = Node("n", 4, 8 * GB, gpus=gpus(16))
    beside = plan_allocations([node], [gpu_demand("d", 1, 6, held_gpu_memory_bytes={"n": {0: 6 * GB}})])
    assert beside.allocations == {"d": {"n": 1}}
    tight = plan_allocations([node], [gpu_demand("d", 1, 10, held_gpu_memory_bytes={"n": {0: 10 * GB}})])
    assert tight.allocations == {"d": {}} and "free memory [6gb]" in tight.reasons["d"]
    # Held memory on a GPU or node that is gone is ignored, not an error.
    gone = plan_allocations([node], [gpu_demand("d", 1, 10, held_gpu_memory_bytes={"n": {3: GB}, "x": {0: GB}})])
    assert gone.allocations == {"d": {"n": 1}}


def test_a_gpu_deployment_with_a_cache_charges_the_cache_to_the_host() -> None:
    node = Node("n", 4, 2 * GB, gpus=gpus(16))
    assert plan_allocations([node], [gpu_demand("d", 1, 1, host=GB)]).allocations == {"d": {"n": 1}}
    refused = plan_allocations([node], [gpu_demand("d", 1, 1, host=3 * GB)])
    assert refused.allocations == {"d": {}} and "insufficient available memory" in refused.reasons["d"]


def test_shortfall_names_each_node_s_reason() -> None:
    nodes = [Node("cpu", 4, 8 * GB), Node("small", 4, 8 * GB, gpus=gpus(4, 6))]
    reasons = plan_allocations(nodes, [gpu_demand("d", 1, 10)]).reasons["d"].split("|")
    assert reasons[0] == "Could not assign (more) allocations on node [cpu]. Reason: This node has no [cuda] device."
    assert reasons[1].startswith("Could not assign (more) allocations on node [small]. Reason: This node has "
                                 "insufficient available GPU memory. Available memory on [cuda:0] [4gb]")
    assert "Available memory on [cuda:1] [6gb], free memory [6gb]" in reasons[1]


def test_cpu_deployments_prefer_nodes_without_gpus_and_gpu_ones_are_placed_first() -> None:
    nodes = [Node("cpu", 4, 8 * GB), Node("gpu", 4, 8 * GB, gpus=gpus(16))]
    plan = plan_allocations(nodes, [Demand("c", 4, 1, GB), gpu_demand("g", 4, 2)])
    assert plan.allocations == {"c": {"cpu": 4}, "g": {"gpu": 4}}
    # Only when the CPU nodes are full does a CPU deployment use a GPU node's processors.
    spill = plan_allocations(nodes, [Demand("c", 6, 1, GB)])
    assert spill.allocations == {"c": {"cpu": 4, "gpu": 2}}
    # A GPU deployment listed after a CPU one still gets the GPU node's processors first.
    crowded = plan_allocations([Node("gpu", 4, 8 * GB, gpus=gpus(16))], [Demand("c", 4, 1, GB), gpu_demand("g", 2, 2)])
    assert crowded.allocations == {"c": {"gpu": 2}, "g": {"gpu": 2}}


def test_cpu_deployments_charge_host_memory_only_and_get_no_gpu() -> None:
    plan = plan_allocations([Node("n", 4, 3 * GB, gpus=gpus(1))], [Demand("a", 1, 1, 2 * GB), Demand("b", 1, 1, 2 * GB)])
    assert plan.allocations == {"a": {"n": 1}, "b": {}} and plan.gpus == {}


def test_a_lost_gpu_node_s_allocations_go_to_another_gpu_node() -> None:
    plan = plan_allocations([Node("n2", 4, GB, gpus=gpus(16))],
                            [gpu_demand("d", 2, 2, current={"n1": 2}, current_gpus={"n1": 0})])
    assert plan.allocations == {"d": {"n2": 2}} and plan.gpus == {"d": {"n2": 0}}


def test_device_problem_names_what_the_nodes_offer() -> None:
    cpu_only = [Node("node-0", 2, GB), Node("node-1", 2, GB, name="big")]
    assert device_problem(cpu_only, CPU) is None
    assert device_problem(cpu_only, CUDA) == "no ML node has a [cuda] device; the ML nodes offer [node-0: cpu; big: cpu]"
    with_gpu = [Node("n", 2, GB, gpus=(GpuDevice(0, "NVIDIA H100", 80 * GB),))]
    assert device_problem(with_gpu, CUDA) is None
    assert device_problem(with_gpu, DeviceRequest.parse("cuda:0")) is None
    assert device_problem(with_gpu, DeviceRequest.parse("cuda:1")) == (
        f"no ML node has a [cuda:1] device; the ML nodes offer [n: cpu, cuda:0 (NVIDIA H100, {80 * GB} bytes)]")
    assert device_problem([], CUDA) == "no ML node has a [cuda] device; the ML nodes offer [nothing: there are none]"
