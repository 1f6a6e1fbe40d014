"""A route: one deployment's worker on one node, with its bounded queue and its batcher.

The queue lives here, in the server, so its counts are exact: a request's documents are admitted whole or
refused whole (`Admission`), wait in arrival order, and leave the queue when an allocation takes them. An
allocation is free when fewer batches are in flight than the route has allocations; a free allocation
takes every waiting document up to `max_batch_documents` as one batch, so an idle route adds no waiting
and a busy one batches more. A caller that timed out or went away is skipped; its late result is dropped.

A route serves one `Revision` for its whole life: its worker loads it, and every request admitted to it runs
with the task options computed from it. A worker that dies while serving fails its in-flight requests (the
caller may retry them elsewhere) and tells `on_crash`, which may start a new worker (`restart`); queued
requests wait for it. A batch still running `STUCK_GRACE_S` after the last of its callers gave up is stuck (a
model in an endless loop): the watchdog kills the worker, which then counts as a crash. Every change of state
or size is told to `on_change`, so whoever waits for one is woken instead of polling. Timers and timestamps
come from the injected clock, so tests drive the fill timer, timeouts and the watchdog by hand.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from inferd.clock import Clock, Timer
from inferd.errors import InferdError, InferenceFailed, QueueFull, RequestTimeout, WorkerDied
from inferd.runtime.admission import Admission, Reservation
from inferd.runtime.latency import RequestLatencies
from inferd.runtime.protocol import (
    PROTOCOL_VERSION,
    AllocationsSet,
    BatchDone,
    CacheCleared,
    FromWorker,
    InferBatch,
    InferRequest,
    LoadFailed,
    LoadModel,
    Ready,
    WorkerStats,
)
from inferd.runtime.revision import Revision
from inferd.runtime.states import RouteEvent, RouteState, transition
from inferd.runtime.stats import RouteStats
from inferd.runtime.worker_client import WorkerClient

logger = logging.getLogger(__name__)

BATCH_FILL_WAIT_S = 0.005
"""How long, under load, a free allocation may wait for a fuller batch (an idle route never waits)."""
STUCK_GRACE_S = 5.0
"""How long a batch may run on after its last caller's timeout before the watchdog recycles the worker."""

_request_ids = itertools.count(1)
_batch_ids = itertools.count(1)


@dataclass(eq=False)
class _Job:
    request_id: int
    texts: list[str]
    task_options: dict[str, Any]
    future: asyncio.Future[list[dict[str, Any]]]
    reservation: Reservation
    arrived: float
    """When it was admitted (the clock's monotonic time, as the two below)."""
    deadline: float
    """When the caller stops waiting."""
    dispatched: float | None = None
    """When it left the queue for the worker."""
    abandoned: bool = False


def _nothing() -> None:
    pass


def _timeout(timeout_text: str) -> RequestTimeout:
    return RequestTimeout(f"timeout [{timeout_text}] waiting for inference result")


def _expire(job: _Job, timeout_text: str) -> None:
    """The caller's time is up: it is answered 408 and its documents, if still queued, are skipped."""
    if not job.future.done():
        job.abandoned = True
        job.future.set_exception(_timeout(timeout_text))


_Reply = WorkerStats | CacheCleared
"""What the worker answers a question with; it answers each kind in the order it was asked."""
_R = TypeVar("_R", bound=_Reply)


@dataclass
class _WorkerFacts:
    pid: int | None = None
    load_count: int = 0
    load_ms: float | None = None
    waiters: dict[type[msgspec.Struct], deque[asyncio.Future[Any]]] = field(default_factory=dict)


class Route:
    def __init__(self, deployment_id: str, node_id: str, revision: Revision, allocations: int, clock: Clock,
                 on_crash: Callable[[Route], bool] | None = None, on_change: Callable[[], None] | None = None,
                 device: str = "cpu") -> None:
        self.deployment_id = deployment_id
        self.node_id = node_id
        self.device = device
        """Where its worker runs on the node: `cpu`, or the CUDA device the planner gave it (`cuda:N`)."""
        self.revision = revision
        self.state = RouteState.STARTING
        self.reason: str | None = None
        self.allocations = allocations
        self.threads_per_allocation = revision.resources.threads_per_allocation
        self.max_batch_documents = revision.resources.max_batch_documents
        self.start_time_ms = clock.now_ms()
        self.stats = RouteStats(clock.monotonic, clock.now_ms)
        self.latencies = RequestLatencies()
        self.restarts = 0
        """Workers started again after a crash."""
        self._admission = Admission(revision.resources.queue_capacity)
        self._waiting: deque[_Job] = deque()
        self._in_flight: dict[int, list[_Job]] = {}
        self._watchdogs: dict[int, Timer] = {}
        self._fill_timer: Timer | None = None
        self._last_batch_done = 0.0
        self._worker: WorkerClient | None = None
        self._facts = _WorkerFacts()
        self._on_crash = on_crash
        self._on_change = on_change or _nothing
        self.crash_times: list[float] = []
        """When the worker died while serving (clock.monotonic), for the restart policy."""
        self.recovering = False
        """A new worker is on its way after a crash; queued requests wait for it."""
        self._clock = clock
        self._kill_reason: str | None = None
        self._killed = False
        self._settled = asyncio.Event()  # started, failed or stopped
        self._idle = asyncio.Event()
        self._idle.set()

    def __str__(self) -> str:
        return f"[{self.deployment_id}] on [{self.node_id}]"

    # --- lifecycle -----------------------------------------------------------------------------

    def attach(self, worker: WorkerClient) -> None:
        """Give the route its freshly started worker and tell it what to load."""
        self._worker = worker
        worker.listen(self._on_message)
        if self._killed or self.state in (RouteState.STOPPING, RouteState.STOPPED):
            worker.kill()  # its node was lost, or the route stopped, while the worker started
            return
        worker.load(self._load())

    def _load(self) -> LoadModel:
        return msgspec.structs.replace(self.revision.load, allocations=self.allocations, device=self.device)

    def restart(self, worker: WorkerClient) -> None:
        """Start serving again on a new worker after a crash; queued requests go to it once it has loaded."""
        self._move(RouteEvent.RESTART, self.reason)
        self.restarts += 1
        self._settled.clear()
        self._kill_reason = None
        self.attach(worker)

    def give_up(self, reason: str) -> None:
        """No new worker is coming: stay failed for good, the reason saying why as well, and fail whatever still
        waits. The state stays `failed`, so the change is told here: whoever waits for a deployment to fail wakes."""
        self.recovering = False
        self.reason = f"{self.reason}; {reason}" if self.reason else reason
        self._on_failure(reason)
        self._on_change()

    async def wait_settled(self) -> None:
        await self._settled.wait()

    def set_allocations(self, count: int) -> None:
        """Resize inside the running worker; batches in flight finish on the allocations they started on."""
        self.allocations = count
        if self._worker is not None and self.state in (RouteState.STARTING, RouteState.STARTED):
            self._worker.resize(count)
        self._on_change()
        self._dispatch()

    async def stop(self, timeout_s: float, *, server_exiting: bool = False) -> None:
        """Refuse new requests, let every queued and in-flight document finish, then end the worker (or, when the
        server is exiting, let it go if it can outlive the server: `WorkerClient.leave`)."""
        if self.stopped:
            return
        crashed = self.state is RouteState.FAILED
        self._move(RouteEvent.STOP)
        if crashed:  # no worker will come to serve what still waits
            self.recovering = False
            self._fail_all(WorkerDied(f"deployment [{self.deployment_id}] stopped on node [{self.node_id}]"))
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            logger.warning("route %s did not drain within %.0fs; stopping it anyway", self, timeout_s)
        if self._worker is not None:
            if server_exiting:
                self._worker.leave()
            else:
                self._worker.shutdown()
            await self._worker.wait_closed(timeout_s)
        if not self.stopped:
            self._move(RouteEvent.DRAINED)
        self._fail_all(WorkerDied(f"deployment [{self.deployment_id}] stopped on node [{self.node_id}]"))

    def kill(self) -> None:
        """End the worker at once (its node is lost); a worker still starting is ended when it arrives."""
        self._killed = True
        if self._worker is not None:
            self._worker.kill()

    @property
    def stopped(self) -> bool:
        return self.state is RouteState.STOPPED

    def _move(self, event: RouteEvent, reason: str | None = None) -> None:
        self.state = transition(self.state, event)
        self.reason = reason
        if self.state is not RouteState.STARTING:
            self._settled.set()
        self._on_change()

    # --- inference -----------------------------------------------------------------------------

    @property
    def pending_documents(self) -> int:
        """Documents waiting in the queue plus documents sent to the worker and not yet answered."""
        return self._admission.waiting + sum(len(job.texts) for jobs in self._in_flight.values() for job in jobs)

    @property
    def rejected_count(self) -> int:
        return self._admission.rejected

    async def infer(self, texts: list[str], task_options: dict[str, Any], timeout_s: float,
                    timeout_text: str) -> list[dict[str, Any]]:
        """Queue the documents (or raise QueueFull at once) and wait for their results until the timeout."""
        if timeout_s <= 0:  # a caller that will not wait is answered now, not by whatever a race with the worker gives
            self.stats.record_timeout()
            self.latencies.outcomes["timeout"] += 1
            raise _timeout(timeout_text)
        try:
            reservation = self._admission.admit(len(texts))
        except QueueFull:
            self.latencies.outcomes["rejected"] += 1
            raise
        arrived = self._clock.monotonic()
        job = _Job(next(_request_ids), texts, task_options, asyncio.get_running_loop().create_future(), reservation,
                   arrived, arrived + timeout_s)
        self._waiting.append(job)
        self._idle.clear()
        self._dispatch()
        # The timeout is a timer on the job's own future, not `wait_for(shield(...))`: each of those layers adds a
        # round of the event loop to every answer, which a low-load request feels.
        timer = self._clock.call_at(job.deadline, _expire, job, timeout_text)
        try:
            results = await job.future
        except RequestTimeout:
            self.stats.record_timeout()
            self.latencies.outcomes["timeout"] += 1
            raise
        except InferdError:
            self.latencies.outcomes["error"] += 1
            raise
        else:
            dispatched = job.dispatched if job.dispatched is not None else arrived
            self.latencies.answered(dispatched - arrived, self._clock.monotonic() - dispatched)
            return results
        finally:
            timer.cancel()
            if not job.future.done() or job.abandoned:  # the caller went away, or its time ran out
                job.abandoned = True
                job.future.cancel()
            reservation.release()
            self._check_idle()

    def _dispatch(self) -> None:
        """While an allocation is free, send it everything waiting, up to the batch limit.

        Under load (another batch in flight) a free allocation waits for a full batch up to `BATCH_FILL_WAIT_S`
        after the last batch came back (or the oldest waiting request arrived, if later): the callers just
        answered are about to send their next documents, and one batch of 16 costs far less than 16 batches of
        one. An idle route sends at once.
        """
        if self._worker is None or self.state not in (RouteState.STARTED, RouteState.STOPPING):
            return
        now = self._clock.monotonic()
        while self._waiting and len(self._in_flight) < self.allocations:
            if self._in_flight and self._admission.waiting < self.max_batch_documents:
                fill_by = max(self._waiting[0].arrived, self._last_batch_done) + BATCH_FILL_WAIT_S
                if now < fill_by:
                    if self._fill_timer is None:
                        self._fill_timer = self._clock.call_at(fill_by, self._on_fill_timer)
                    break
            batch: list[_Job] = []
            documents = 0
            while self._waiting:
                job = self._waiting[0]
                if job.abandoned:
                    self._waiting.popleft()
                    continue
                if batch and documents + len(job.texts) > self.max_batch_documents:
                    break
                self._waiting.popleft()
                job.reservation.taken(len(job.texts))
                job.dispatched = now
                batch.append(job)
                documents += len(job.texts)
            if not batch:
                break
            batch_id = next(_batch_ids)
            self._in_flight[batch_id] = batch
            self._worker.send_batch(InferBatch(batch_id, [InferRequest(j.request_id, j.texts, j.task_options)
                                                          for j in batch]))
            self._watchdogs[batch_id] = self._clock.call_at(
                max(job.deadline for job in batch) + STUCK_GRACE_S, self._check_stuck, batch_id, self._worker
            )
        self._check_idle()

    def _on_fill_timer(self) -> None:
        self._fill_timer = None
        self._dispatch()

    def _check_stuck(self, batch_id: int, worker: WorkerClient) -> None:
        """The watchdog: a batch outliving every caller by the grace period means the worker is stuck."""
        if batch_id in self._in_flight and worker is self._worker and self.state is RouteState.STARTED:
            self._kill_reason = (f"the worker was stuck in one batch for more than [{STUCK_GRACE_S:g}s] past its "
                                 "callers' timeouts and was recycled")
            logger.error("route %s: %s", self, self._kill_reason)
            worker.kill()

    def _check_idle(self) -> None:
        if not self._in_flight and not any(not job.abandoned for job in self._waiting):
            self._waiting.clear()
            self._idle.set()

    # --- messages from the worker --------------------------------------------------------------

    def _on_message(self, message: FromWorker | None) -> None:
        match message:
            case BatchDone():
                self._on_batch_done(message)
            case Ready(protocol_version=version) if version != PROTOCOL_VERSION:
                self._on_failure(f"worker speaks protocol [{version}], the server [{PROTOCOL_VERSION}]")
                self.kill()
            case Ready(pid=pid, load_count=load_count, load_ms=load_ms):
                self._facts.pid, self._facts.load_count, self._facts.load_ms = pid, load_count, load_ms
                if self.state is RouteState.STARTING:
                    self.recovering = False
                    self._move(RouteEvent.LOADED)
                    if self.allocations != message.allocations:
                        self.set_allocations(self.allocations)
                self._dispatch()
            case LoadFailed(reason=reason):
                self._on_failure(f"Could not load the model: {reason}")
            case AllocationsSet():
                pass
            case WorkerStats() | CacheCleared():
                waiters = self._facts.waiters.get(type(message))
                if waiters and not (waiter := waiters.popleft()).done():  # done: its asker gave up waiting
                    waiter.set_result(message)
            case None:
                self._on_exit()

    def _on_batch_done(self, message: BatchDone) -> None:
        jobs = {job.request_id: job for job in self._in_flight.pop(message.batch_id, [])}
        self._last_batch_done = self._clock.monotonic()
        if (watchdog := self._watchdogs.pop(message.batch_id, None)) is not None:
            watchdog.cancel()
        answered = cache_hits = 0
        for outcome in message.outcomes:
            job = jobs.get(outcome.request_id)
            if job is None:
                continue
            if outcome.failure is not None:
                self.stats.record_error()
                if not job.future.done():
                    failure = outcome.failure
                    job.future.set_exception(
                        InferenceFailed(failure.reason, status=failure.status, error_type=failure.error_type)
                    )
            else:
                answered += len(job.texts)
                cache_hits += outcome.cache_hits
                if not job.future.done():
                    job.future.set_result(outcome.results or [])
        if answered:
            self.stats.record_batch(answered, cache_hits, message.time_ms)
        self._dispatch()

    def fail(self, reason: str) -> None:
        """The route cannot run (its worker could not start)."""
        self._on_failure(reason)

    @property
    def failed_for_good(self) -> bool:
        return self.state is RouteState.FAILED and not self.recovering

    def _on_failure(self, reason: str) -> None:
        self.recovering = False
        if self.state not in (RouteState.STOPPED, RouteState.FAILED):
            self._move(RouteEvent.FAILED, reason)
        logger.error("route %s failed: %s", self, reason)
        self._fail_all(WorkerDied(f"Error in inference process: [{reason}]"))

    def _on_exit(self) -> None:
        if self.state is RouteState.STOPPED:
            return
        assert self._worker is not None
        tail = self._worker.stderr_tail()
        reason = self._kill_reason or self._worker.exit_reason()
        reason += f": {tail}" if tail else ""
        if self.state is RouteState.STOPPING:  # died while draining: nothing more will be answered
            self._fail_all(WorkerDied(f"Error in inference process: [{reason}]"))
            return
        restarting = self.state is RouteState.STARTING and self.recovering
        if self.state is not RouteState.STARTED and not restarting:  # never served: a failure to start
            self._on_failure(reason)
            return
        self._move(RouteEvent.FAILED, reason)
        logger.error("route %s: worker crashed: %s", self, reason)
        self.crash_times.append(self._clock.monotonic())
        lost = sum(not job.future.done() for jobs in self._in_flight.values() for job in jobs)
        if lost:
            self.stats.record_error(lost)
        self._fail_in_flight(WorkerDied(f"Error in inference process: [{reason}]"))
        self.recovering = self._on_crash is not None and self._on_crash(self)
        if not self.recovering:
            self._fail_all(WorkerDied(f"Error in inference process: [{reason}]"))

    def _fail_in_flight(self, error: InferdError) -> None:
        """What the worker held is lost with it: its batches, and the stats it was asked for."""
        for job in (job for jobs in self._in_flight.values() for job in jobs):
            if not job.future.done():
                job.future.set_exception(error)
        self._in_flight.clear()
        for watchdog in self._watchdogs.values():
            watchdog.cancel()
        self._watchdogs.clear()
        for waiters in self._facts.waiters.values():
            for waiter in waiters:
                waiter.cancel()
        self._facts.waiters.clear()
        self._check_idle()

    def _fail_all(self, error: InferdError) -> None:
        for job in self._waiting:
            if not job.future.done():
                job.future.set_exception(error)
        self._waiting.clear()
        self._fail_in_flight(error)

    # --- worker facts --------------------------------------------------------------------------

    @property
    def load_time_ms(self) -> float | None:
        """How long the worker took to load the model, as it said when ready; None before it is."""
        return self._facts.load_ms

    async def worker_stats(self, timeout_s: float = 10) -> WorkerStats | None:
        """Ask the worker for its own view (pid, load count, allocation threads); None if it cannot answer."""
        return await self._ask(WorkerClient.request_stats, WorkerStats, timeout_s)

    async def clear_cache(self, timeout_s: float = 10) -> None:
        """Empty the worker's inference cache; one not started has nothing cached, one that cannot answer is gone."""
        await self._ask(WorkerClient.clear_cache, CacheCleared, timeout_s)

    async def _ask(self, question: Callable[[WorkerClient], None], reply: type[_R], timeout_s: float) -> _R | None:
        """Send a control message (it never waits behind inference) and wait for its answer."""
        if self._worker is None or self.state not in (RouteState.STARTED, RouteState.STOPPING):
            return None
        waiter: asyncio.Future[_R] = asyncio.get_running_loop().create_future()
        self._facts.waiters.setdefault(reply, deque()).append(waiter)
        question(self._worker)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # our caller is being cancelled: let it be
                raise
            return None  # the worker went away and its waiters were cancelled
