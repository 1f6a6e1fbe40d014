"""The planner: processors, memory, keeping what runs, re-placing after node loss, explained shortfalls."""

from __future__ import annotations

from inferd.control.planner import Demand, Node, plan_allocations

GB = 1024**3


def test_allocations_times_threads_fit_the_processors() -> None:
    plan = plan_allocations([Node("n1", 4, 8 * GB)], [Demand("d", 8, 2, GB)])
    assert plan.allocations == {"d": {"n1": 2}}
    assert "insufficient allocated processors" in plan.reasons["d"]
    assert "free processors [0], processors required for each allocation of this model [2]" in plan.reasons["d"]


def test_memory_is_charged_once_per_node_and_can_refuse() -> None:
    plan = plan_allocations([Node("n1", 8, 3 * GB)], [Demand("a", 3, 1, 2 * GB), Demand("b", 1, 1, 2 * GB)])
    assert plan.allocations == {"a": {"n1": 3}, "b": {}}
    assert "insufficient available memory" in plan.reasons["b"] and "free memory [1gb]" in plan.reasons["b"]


def test_running_allocations_are_kept_and_new_ones_go_where_the_deployment_runs() -> None:
    nodes = [Node("n1", 4, 8 * GB), Node("n2", 4, 8 * GB)]
    plan = plan_allocations(nodes, [Demand("d", 3, 1, GB, current={"n2": 1}), Demand("e", 2, 1, GB)])
    assert plan.allocations["d"] == {"n2": 3}
    assert sum(plan.allocations["e"].values()) == 2
    assert plan.reasons == {}


def test_a_lost_node_is_replaced_elsewhere() -> None:
    plan = plan_allocations([Node("n1", 4, 8 * GB)], [Demand("d", 2, 1, GB, current={"gone": 2})])
    assert plan.allocations == {"d": {"n1": 2}}


def test_shrinking_keeps_the_running_allocations_it_can() -> None:
    plan = plan_allocations([Node("n1", 4, 8 * GB), Node("n2", 4, 8 * GB)],
                            [Demand("d", 2, 1, GB, current={"n1": 2, "n2": 2})])
    assert plan.allocations == {"d": {"n1": 2}}


def test_low_priority_uses_memory_only() -> None:
    plan = plan_allocations([Node("n1", 1, 8 * GB)], [Demand("busy", 1, 1, GB), Demand("low", 1, 1, GB, low_priority=True)])
    assert plan.allocations == {"busy": {"n1": 1}, "low": {"n1": 1}}


def test_no_nodes() -> None:
    assert plan_allocations([], [Demand("d", 1, 1, GB)]).reasons == {"d": "No ML nodes exist in the cluster"}


def test_memory_held_by_a_rollouts_old_workers_is_taken_but_their_processors_are_not() -> None:
    node = Node("n1", 2, 3 * GB)
    # 1x1 rolling to 1x2 on 2 processors: the old worker's thread is not charged, its memory is.
    beside = plan_allocations([node], [Demand("d", 1, 2, GB, held_memory_bytes={"n1": GB})])
    assert beside.allocations == {"d": {"n1": 1}}
    tight = plan_allocations([node], [Demand("d", 1, 2, 2 * GB, held_memory_bytes={"n1": 2 * GB})])
    assert tight.allocations == {"d": {}}
    assert "free memory [1gb]" in tight.reasons["d"]
    # Memory another deployment's old workers hold is not free for this one either.
    other = plan_allocations([node], [Demand("d", 1, 1, GB, held_memory_bytes={"n1": GB}), Demand("e", 1, 1, 2 * GB)])
    assert other.allocations == {"d": {}, "e": {"n1": 1}}  # 1 held + 2 for e: no room left for d's 1
