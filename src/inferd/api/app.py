"""The composition root: builds the FastAPI app, its middleware, routes and, on start-up, the store and registry."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from inferd import __version__
from inferd.api.authentication import Authenticator
from inferd.api.errors import install_error_handlers
from inferd.api import inference
from inferd.api.inference import InferenceMiddleware
from inferd.api.live import LiveFeed
from inferd.api.middleware import (
    AuthenticationMiddleware,
    AuthenticatorSlot,
    BodyLimitMiddleware,
    ConsoleRedirectMiddleware,
    ProductHeaderMiddleware,
    ResponseFormatMiddleware,
)
from inferd.api.body import check_accept_header
from inferd.api.limits import RequestLimits
from inferd.api.openapi import install_openapi
from inferd.api.params import reject_unknown_parameters
from inferd.api.privileges import Privilege, route_requirement
from inferd.api.responses import FastJSONResponse
from inferd.api.routes import deployments as deployment_routes
from inferd.api.routes import (
    builds,
    console,
    docs,
    enrich,
    health,
    inference_api,
    ingest,
    metrics,
    ml_reads,
    model_aliases,
    nodes,
    openai_compat,
    rollouts,
    root,
    security,
    tei,
    trained_models,
)
from inferd.api.state import ServerState
from inferd.clock import Clock, SystemClock
from inferd.cluster.backend import ClusterBackend
from inferd.cluster.local import LocalCluster, machine_memory_bytes, machine_processors, split_machine
from inferd.control import DeploymentManager, ModelRegistry, RuntimeLimits, ScalerSettings
from inferd.control.deployment import Deployment
from inferd.control.inference_endpoints import InferenceEndpoints
from inferd.control.ingest import IngestPipelines
from inferd.control.security import ApiKeys, ChangeWatcher, ConsoleSessions, Users, ensure_admin_key
from inferd.control.upload_limits import UploadLimits
from inferd.runtime.device import probe_gpus
from inferd.settings import ClusterKind, Settings
from inferd.store import DataDirLock, DeploymentStore, EndpointStore, ModelStore, PipelineStore, SecurityStore, open_store
from inferd.store.cluster import ensure_cluster_uuid
from inferd.units import parse_byte_size

logger = logging.getLogger(__name__)


def local_cluster(settings: Settings) -> LocalCluster:
    memory = parse_byte_size(settings.ml_memory, "ml_memory") if settings.ml_memory else machine_memory_bytes()
    nodes = split_machine(settings.processors or machine_processors(), memory, settings.nodes, probe_gpus())
    return LocalCluster(nodes, settings.data_dir / "logs")


def cluster_backend(settings: Settings, clock: Clock, cluster_uuid: str) -> ClusterBackend:
    """The backend `settings.cluster` names; Ray's is imported only when asked for (it is an optional extra). Its
    workers carry `cluster_uuid`, so that only a server of this data dir adopts them."""
    if settings.cluster is ClusterKind.LOCAL:
        return local_cluster(settings)
    try:
        from inferd.cluster.ray_cluster import RayCluster
    except ImportError as error:
        raise RuntimeError(f"--cluster ray needs Ray: pip install 'inferd[ray]' ({error})") from None
    return RayCluster(settings.ray_address, clock, cluster_uuid, settings.worker_orphan_timeout_s)


async def _settle(state: ServerState, restored: list[Deployment], timeout_s: float) -> None:
    """The server is ready once the restored deployments serve (or cannot, or time is up)."""
    state.deployments.start_scaler()
    state.deployments.follow_nodes()
    if not await state.deployments.wait_settled(restored, timeout_s):
        logger.warning("deployments still starting after %.0fs: ready anyway", timeout_s)
    state.ready = True
    logger.info("inferd ready: data dir %s, cluster %s, %d deployments restored", state.settings.data_dir,
                state.cluster_uuid, len(restored))


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    slot = AuthenticatorSlot()
    actions: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("inferd %s starting: data dir %s, store %s", __version__, settings.data_dir,
                    settings.store_description)
        lock = DataDirLock(settings.data_dir)
        lock.acquire()
        engine = None
        backend: ClusterBackend | None = None
        try:
            engine = open_store(settings.resolved_store_url)
            shutil.rmtree(settings.data_dir / "tmp", ignore_errors=True)  # leftovers of a process that was killed
            registry = ModelRegistry(ModelStore(engine), clock, settings.data_dir, UploadLimits.of(settings))
            cluster_uuid = ensure_cluster_uuid(engine)
            backend = cluster_backend(settings, clock, cluster_uuid)
            deployments = DeploymentManager(registry, DeploymentStore(engine), backend, clock, RuntimeLimits(
                settings.max_deployments, settings.max_batch_documents, settings.max_batch_tokens, settings.stop_timeout_s,
                settings.max_document_windows,
            ), scaler_settings=ScalerSettings(
                settings.adaptive_allocations_interval_s, settings.scale_up_cooldown_s, settings.scale_to_zero_after_s
            ))
            endpoints = InferenceEndpoints(EndpointStore(engine), deployments, registry, clock)
            await endpoints.load()
            pipelines = IngestPipelines(PipelineStore(engine), clock)
            await pipelines.load()
            security_store = SecurityStore(engine)
            api_keys = ApiKeys(security_store, clock, actions, settings.api_key_cache_ttl_s)
            users = Users(security_store, clock, settings.password_cache_ttl_s)
            ensure_admin_key(api_keys, users, settings.data_dir, settings.bootstrap_api_key_file)
            sessions = ConsoleSessions(api_keys, users, clock, idle_timeout_s=settings.console_session_idle_timeout_s,
                                       lifespan_s=settings.console_session_lifespan_s)
            if settings.security_enabled:
                slot.authenticator = Authenticator(api_keys, users, ChangeWatcher(security_store, clock, api_keys, users),
                                                   clock, sessions)
            else:
                logger.warning(
                    "SECURITY IS DISABLED (--no-security): every request is served without credentials. Use this "
                    "for local development only; the server listens on %s only", settings.host
                )
            state = ServerState(
                settings=settings,
                clock=clock,
                cluster_uuid=cluster_uuid,
                node_name=settings.node_name or socket.gethostname(),
                registry=registry,
                deployments=deployments,
                api_keys=api_keys,
                users=users,
                sessions=sessions,
                live=LiveFeed(deployments, clock),
                endpoints=endpoints,
                pipelines=pipelines,
            )
            app.state.inferd = state
            restoring: asyncio.Task[None] | None = None
            try:
                # Before the server listens: a deployment whose workers survived the last server serves on them
                # from its first request; the others start in the background.
                restored = await deployments.restore()
                restoring = asyncio.create_task(_settle(state, restored, settings.restore_timeout_s))
                yield
            finally:
                if restoring is not None:
                    restoring.cancel()
                await deployments.shutdown()
        finally:
            if backend is not None:
                backend.close()
            if engine is not None:
                engine.dispose()
            lock.release()

    app = FastAPI(
        title="inferd",
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
        # inferd's observability is /_inferd/metrics; FastAPI's native OpenTelemetry looked up its providers (and
        # the environment) on every request, about 7% of the server's CPU per inference.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        dependencies=[Depends(check_accept_header), Depends(reject_unknown_parameters)],
        docs_url=None,
        openapi_url=None,
        redoc_url=None,
    )
    app.state.request_limits = RequestLimits.of(settings)
    install_error_handlers(app)
    modules = (inference, deployment_routes, root, health, metrics, nodes, rollouts, trained_models, builds,
               model_aliases, security, docs, console, inference_api, ingest, enrich, ml_reads, openai_compat, tei)
    routers = [module.router for module in modules]
    for router in routers:
        app.include_router(router)
    install_openapi(app, settings)
    app.state.api_routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    app.state.security_enabled = settings.security_enabled
    requirements = [(route.path, route_requirement(route)) for route in app.state.api_routes]  # one each, or refuse
    actions.extend(sorted({r.action for _, r in requirements if r.action is not None}))
    # A path skips authentication only when every route on it is anonymous (and has no path parameter); so does
    # every path under an anonymous route that ends in a path parameter (the console's assets).
    anonymous_routes = {path for path, _ in requirements} - {
        path for path, r in requirements if r.privilege is not Privilege.ANONYMOUS}
    anonymous = frozenset(path for path in anonymous_routes if "{" not in path)
    anonymous_prefixes = tuple(sorted(path.partition("{")[0] for path in anonymous_routes
                                      if path.endswith(":path}") and path.count("{") == 1))
    app.add_middleware(InferenceMiddleware)  # innermost: every other middleware applies to it as to any route
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_content_length_bytes,
        max_in_flight_bytes=settings.max_in_flight_body_bytes,
    )
    if settings.security_enabled:
        app.add_middleware(AuthenticationMiddleware, slot=slot, anonymous_paths=anonymous,
                           anonymous_prefixes=anonymous_prefixes)
    app.add_middleware(ConsoleRedirectMiddleware, page=console.PAGE_PATH)
    app.add_middleware(ResponseFormatMiddleware)
    app.add_middleware(ProductHeaderMiddleware)
    return app
