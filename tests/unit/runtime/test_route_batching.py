"""A route's queue and batcher against a scripted worker, on a fake clock: when a batch is sent and what it holds,
admission whole or not at all, callers that give up, resizing.

Every message the route sends is recorded and every answer is the test's, so each test states exactly which
batches go out and when; the fill timer and the timeouts fire only when the test moves the clock.
"""

from __future__ import annotations

import asyncio
import pytest

from inferd.errors import QueueFull, RequestTimeout
from inferd.runtime.protocol import InferBatch, SetAllocations, Shutdown
from inferd.runtime.route import BATCH_FILL_WAIT_S, Route
from inferd.runtime.states import RouteState
from inferd.runtime.worker_client import WorkerClient
from tests.support.clock import FakeClock
from tests.support.control import make_revision
from tests.support.workers import LONG_S, ScriptedChannel, batch_texts, echoed, run_scenario, submit

def serving_route(clock: FakeClock, *, allocations: int = 1, max_batch_documents: int = 4,
                  queue_capacity: int = 100) -> tuple[Route, ScriptedChannel]:
    """A started route whose worker is the test."""
    revision = make_revision(queue_capacity=queue_capacity, max_batch_documents=max_batch_documents)
    route = Route("d", "node-0", revision, allocations, clock)
    worker = ScriptedChannel("worker")
    route.attach(WorkerClient(worker))
    worker.ready()
    assert route.state is RouteState.STARTED
    return route, worker


def test_an_idle_route_sends_a_request_at_once() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=2)

    async def scenario() -> None:
        request = await submit(route, "a", "b")
        (batch,) = worker.of(InferBatch)
        assert batch_texts(batch) == [["a", "b"]]
        assert route.pending_documents == 2
        worker.answer(batch)
        assert await request == echoed("a", "b")
        assert clock.monotonic() == 0.0 and route.pending_documents == 0
        assert route.stats.inference_count == 2

    run_scenario(scenario())


def test_under_load_a_free_allocation_waits_to_fill_its_batch_from_when_the_last_batch_came_back() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=2, max_batch_documents=4)

    async def scenario() -> None:
        first = await submit(route, "a")  # idle: at once
        second = await submit(route, "b")  # a batch is in flight: the free allocation waits for more
        assert len(worker.of(InferBatch)) == 1
        clock.advance(BATCH_FILL_WAIT_S * 0.9)
        assert len(worker.of(InferBatch)) == 1
        clock.advance(BATCH_FILL_WAIT_S * 0.1)
        assert [batch_texts(batch) for batch in worker.of(InferBatch)] == [[["a"]], [["b"]]]

        clock.advance(1.0)  # both allocations busy: these wait for one to come back
        later = [await submit(route, text) for text in ("c", "d")]
        clock.advance(1.0)
        worker.answer(worker.of(InferBatch)[0])  # t=2: the callers just answered are about to send more
        assert await first == echoed("a")
        assert len(worker.of(InferBatch)) == 2  # c waited a second already, but the wait counts from now
        clock.advance(BATCH_FILL_WAIT_S / 2)
        later.append(await submit(route, "e"))
        assert len(worker.of(InferBatch)) == 2
        clock.advance(BATCH_FILL_WAIT_S / 2)
        assert batch_texts(worker.of(InferBatch)[2]) == [["c"], ["d"], ["e"]]

        worker.answer(worker.of(InferBatch)[1])
        worker.answer(worker.of(InferBatch)[2])
        assert await second == echoed("b")
        assert [await request for request in later] == [echoed("c"), echoed("d"), echoed("e")]

    run_scenario(scenario())


def test_under_load_a_full_batch_goes_without_waiting() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=2, max_batch_documents=4)

    async def scenario() -> None:
        await submit(route, "a")
        for text in ("b", "c", "d"):
            await submit(route, text)
        assert len(worker.of(InferBatch)) == 1
        await submit(route, "e")  # the fourth waiting document fills a batch: sent with no time passing
        assert batch_texts(worker.of(InferBatch)[1]) == [["b"], ["c"], ["d"], ["e"]]
        assert clock.monotonic() == 0.0

    run_scenario(scenario())


def test_batches_never_exceed_the_limit_and_take_requests_whole_in_order() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=1, max_batch_documents=4)

    async def scenario() -> None:
        await submit(route, "a")
        sizes = [2, 1, 3, 1, 4, 6, 2]
        requests = [await submit(route, *(f"r{index}-{n}" for n in range(size))) for index, size in enumerate(sizes)]
        for done in range(1, 6):  # answer each batch; the single allocation then takes the next at once
            worker.answer(worker.of(InferBatch)[done - 1])
            assert len(worker.of(InferBatch)) == done + 1
        worker.answer(worker.of(InferBatch)[-1])
        await asyncio.gather(*requests)
        batches = [[len(texts) for texts in batch_texts(batch)] for batch in worker.of(InferBatch)]
        # Whole requests in arrival order; a request larger than the limit goes alone.
        assert batches == [[1], [2, 1], [3, 1], [4], [6], [2]]
        sent = [texts for batch in worker.of(InferBatch)[1:] for texts in batch_texts(batch)]
        assert sent == [[f"r{index}-{n}" for n in range(size)] for index, size in enumerate(sizes)]

    run_scenario(scenario())


def test_a_request_is_admitted_whole_or_refused_whole() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=1, queue_capacity=5)

    async def scenario() -> None:
        running = await submit(route, "a")  # taken by the allocation: it no longer waits in the queue
        queued = [await submit(route, "b1", "b2"), await submit(route, "c1", "c2")]
        with pytest.raises(QueueFull) as refused:
            await route.infer(["d1", "d2"], {}, LONG_S, "1h")  # 4 + 2 > 5: none of it is taken
        assert refused.value.status == 429 and refused.value.error_type == "es_rejected_execution_exception"
        assert "[2] documents do not fit, [4] of [5] places are taken" in refused.value.reason
        assert (route.rejected_count, route.pending_documents) == (1, 1 + 4)
        queued.append(await submit(route, "e"))  # one still fits
        assert route.pending_documents == 1 + 5

        for index in range(3):  # a; then b and c (4 documents, the batch limit); then e
            worker.answer(worker.of(InferBatch)[index])
        assert await running == echoed("a")
        assert [batch_texts(batch) for batch in worker.of(InferBatch)[1:]] == [[["b1", "b2"], ["c1", "c2"]], [["e"]]]
        assert [await request for request in queued] == [echoed("b1", "b2"), echoed("c1", "c2"), echoed("e")]
        assert all("d1" not in texts for batch in worker.of(InferBatch) for texts in batch_texts(batch))
        assert route.pending_documents == 0 and route.rejected_count == 1

    run_scenario(scenario())


def test_a_queued_request_that_times_out_answers_408_and_is_never_sent() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=1)

    async def scenario() -> None:
        running = await submit(route, "a")
        impatient = await submit(route, "b", timeout_s=1.0)
        patient = await submit(route, "c")
        assert route.pending_documents == 3
        clock.advance(0.999)
        assert not impatient.done()
        clock.advance(0.001)
        with pytest.raises(RequestTimeout) as timed_out:
            await impatient
        assert timed_out.value.status == 408
        assert timed_out.value.reason == "timeout [1s] waiting for inference result"
        assert route.pending_documents == 2 and route.stats.timeout_count == 1

        worker.answer(worker.of(InferBatch)[0])
        assert await running == echoed("a")
        assert batch_texts(worker.of(InferBatch)[1]) == [["c"]]  # the abandoned one is skipped
        worker.answer(worker.of(InferBatch)[1])
        assert await patient == echoed("c")

    run_scenario(scenario())


def test_a_request_that_times_out_in_the_worker_drops_its_late_result_and_its_batch_keeps_the_allocation() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=1)

    async def scenario() -> None:
        late = await submit(route, "a", timeout_s=1.0)
        clock.advance(1.0)
        with pytest.raises(RequestTimeout):
            await late
        waiting = await submit(route, "b")
        assert len(worker.of(InferBatch)) == 1  # the worker still runs the batch: its allocation is not free
        worker.answer(worker.of(InferBatch)[0])  # the late answer goes nowhere
        assert batch_texts(worker.of(InferBatch)[1]) == [["b"]]
        worker.answer(worker.of(InferBatch)[1])
        assert await waiting == echoed("b")
        assert route.stats.timeout_count == 1

    run_scenario(scenario())


def test_more_allocations_run_more_batches_at_once_and_fewer_let_the_running_ones_finish() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=1, max_batch_documents=1)

    async def scenario() -> None:
        first, second = await submit(route, "a"), await submit(route, "b")
        assert len(worker.of(InferBatch)) == 1
        route.set_allocations(2)
        assert worker.of(SetAllocations) == [SetAllocations(2)]
        assert [batch_texts(batch) for batch in worker.of(InferBatch)] == [[["a"]], [["b"]]]  # two at once

        route.set_allocations(1)  # both batches in flight finish
        third = await submit(route, "c")
        assert worker.of(SetAllocations) == [SetAllocations(2), SetAllocations(1)]
        worker.answer(worker.of(InferBatch)[0])
        assert len(worker.of(InferBatch)) == 2  # one batch still runs: that is the one allocation
        worker.answer(worker.of(InferBatch)[1])
        assert batch_texts(worker.of(InferBatch)[2]) == [["c"]]
        worker.answer(worker.of(InferBatch)[2])
        assert [await first, await second, await third] == [echoed("a"), echoed("b"), echoed("c")]

    run_scenario(scenario())


def test_a_stopping_route_answers_what_it_holds_then_shuts_its_worker_down() -> None:
    clock = FakeClock()
    route, worker = serving_route(clock, allocations=1)

    async def scenario() -> None:
        running, queued = await submit(route, "a"), await submit(route, "b")
        stopping = asyncio.create_task(route.stop(LONG_S))
        await asyncio.sleep(0)
        assert route.state is RouteState.STOPPING and worker.of(Shutdown) == []
        worker.answer(worker.of(InferBatch)[0])
        worker.answer(worker.of(InferBatch)[1])  # the queued request still went to the worker
        await stopping
        assert worker.of(Shutdown) == [Shutdown()] and worker.ended
        assert route.state is RouteState.STOPPED
        assert [await running, await queued] == [echoed("a"), echoed("b")]

    run_scenario(scenario())
