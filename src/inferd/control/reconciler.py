"""Plan, then apply: the one step every change of the deployments ends with.

`plan` asks the pure planner (`planner.py`) where each deployment's allocations go on the nodes the backend
offers now; `apply` makes it so: a node the plan gives a deployment and that has no route gets a new route
(and worker), an existing route resizes in place, and routes the plan no longer wants drain and stop.
`step()` is both, over every deployment; a start or a rollout plans with a candidate first, to refuse what
cannot fit before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from inferd.cluster.backend import ClusterBackend
from inferd.cluster.nodes import Node
from inferd.control.deployment import Deployment
from inferd.control.memory import estimate_memory_bytes
from inferd.control.planner import Demand, Plan, plan_allocations
from inferd.control.route_workers import RouteWorkers
from inferd.runtime.device import CPU, DeviceRequest, cuda_device
from inferd.runtime.revision import Priority, Revision
from inferd.runtime.states import RouteState
from inferd.units import parse_byte_size


class Reconciler:
    def __init__(self, deployments: dict[str, Deployment], backend: ClusterBackend, workers: RouteWorkers) -> None:
        self._deployments = deployments
        self._backend = backend
        self._workers = workers

    def step(self) -> None:
        self.apply(self.plan())

    def plan(self, candidate: Deployment | None = None) -> Plan:
        """Where every deployment's allocations go now (with `candidate`, one not yet placed, among them)."""
        nodes = self._backend.nodes()
        deployments = [*self._deployments.values(), *([candidate] if candidate is not None else [])]
        return plan_allocations(nodes, [self.demand(deployment, nodes) for deployment in deployments])

    def demand(self, deployment: Deployment, nodes: Sequence[Node], trial: Revision | None = None,
               allocations: int | None = None) -> Demand:
        """What the deployment asks of the nodes: its target revision's allocations on the routes being sized
        (none for a `trial` revision, as a rollout's check places it afresh), with the memory its other workers
        (the serving ones during a rollout, draining ones after it) still hold."""
        revision = trial or deployment.target_revision
        sized = {} if trial is not None else deployment.target_routes
        allocations = deployment.number_of_allocations if allocations is None else allocations
        # A route being retired no longer counts (the plan dropped it); a stopping deployment holds all it has;
        # a crashed route keeps its place while its worker restarts.
        holding = (RouteState.STARTING, RouteState.STARTED, RouteState.STOPPING) if deployment.stopping else (
            RouteState.STARTING, RouteState.STARTED)
        current = {route.node_id: route.allocations for route in sized.values()
                   if route.state in holding or route.recovering}
        # Memory is charged for the allocations that can exist: asking for millions must not make a running
        # deployment's estimate outgrow its node and lose the allocations it has.
        threads = max(revision.resources.threads_per_allocation, 1)
        possible = max(sum(current.values()), sum(node.processors // threads for node in nodes), 1)
        others = list(deployment.draining)
        if sized is not deployment.routes:
            others += deployment.routes.values()
        held: dict[str, int] = {}
        held_gpu: dict[str, dict[int, int]] = {}
        for route in others:
            if route.state is not RouteState.STOPPED:
                host, gpu = memory_charges(route.revision, route.allocations)
                held[route.node_id] = held.get(route.node_id, 0) + host
                if (index := gpu_index(route.device)) is not None:
                    on_node = held_gpu.setdefault(route.node_id, {})
                    on_node[index] = on_node.get(index, 0) + gpu
        target = sum(current.values()) if deployment.stopping else allocations
        host, gpu = memory_charges(revision, min(allocations, possible))
        current_gpus = {route.node_id: index for route in sized.values()
                        if route.node_id in current and (index := gpu_index(route.device)) is not None}
        return Demand(deployment.deployment_id, target, revision.resources.threads_per_allocation, host, current,
                      low_priority=revision.resources.priority is Priority.LOW, held_memory_bytes=held,
                      device=revision.resources.device, gpu_memory_bytes=gpu, current_gpus=current_gpus,
                      held_gpu_memory_bytes=held_gpu)

    def apply(self, plan: Plan) -> None:
        for deployment in self._deployments.values():
            if deployment.stopping:
                continue
            routes = deployment.target_routes
            wanted = plan.allocations.get(deployment.deployment_id, {})
            gpus = plan.gpus.get(deployment.deployment_id, {})
            for node_id, count in wanted.items():
                route = routes.get(node_id)
                if route is None or route.state in (RouteState.STOPPING, RouteState.STOPPED):
                    device = cuda_device(gpus[node_id]) if node_id in gpus else str(CPU)
                    self._workers.launch(deployment, routes, deployment.target_revision, node_id, count, device)
                elif route.state is RouteState.FAILED and not route.recovering:
                    continue  # failed for good: it stays failed until the deployment is stopped
                elif route.allocations != count:
                    route.set_allocations(count)
            for node_id, route in list(routes.items()):
                if node_id not in wanted and route.state in (RouteState.STARTING, RouteState.STARTED,
                                                             RouteState.FAILED):
                    self._workers.retire(deployment, routes, node_id)
            deployment.reason = plan.reasons.get(deployment.deployment_id)
            deployment.note_allocations()
            deployment.changed()


def memory_charges(revision: Revision, allocations: int) -> tuple[int, int]:
    """What a worker of the revision with these allocations is expected to hold, in host memory and on its GPU: the
    weights once and the allocations' working memory (on the GPU for a GPU deployment), and its cache beyond the
    model's size (always in the host's memory, where the worker process keeps it)."""
    cache_bytes = parse_byte_size(revision.resources.cache_size, "cache_size")
    cache = max(0, cache_bytes - revision.model_bytes)
    model = estimate_memory_bytes(revision.model_bytes, revision.per_deployment_memory_bytes,
                                  revision.per_allocation_memory_bytes, allocations)
    return (cache, model) if revision.resources.device.is_gpu else (model + cache, 0)


def gpu_index(device: str) -> int | None:
    """The GPU a route runs on (`cuda:N`), None for the CPU."""
    return DeviceRequest.parse(device).index
