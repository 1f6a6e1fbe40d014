"""`GET /_inferd/metrics`: the deployments' metrics in Prometheus' text format."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from inferd.api.privileges import Privilege, require_privilege
from inferd.api.schemas.metrics import DeploymentCollector
from inferd.api.state import Deployments

router = APIRouter(prefix="/_inferd")


# The same counters as `_stats`, so the same privilege (Prometheus sends the key: `authorization: {type: ApiKey}`).
METRICS = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/inferd/metrics/get"))]


@router.get("/metrics", dependencies=METRICS)
async def metrics(deployments: Deployments) -> Response:
    """Requests, documents, errors, rejections, timeouts, latencies, queue depth and allocations per deployment."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploymentCollector(deployments))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
