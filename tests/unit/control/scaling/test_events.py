"""The event log keeps the newest events per deployment, within a bound."""

from inferd.control.scaling.events import EventLog, ScalingEvent


def event(deployment_id: str, timestamp_ms: int) -> ScalingEvent:
    return ScalingEvent(timestamp_ms, deployment_id, "no_change", 1, None)


def scaled(deployment_id: str, timestamp_ms: int, allocations: int) -> ScalingEvent:
    return ScalingEvent(timestamp_ms, deployment_id, "scaled", allocations, None)


def test_newest_first_within_the_bound() -> None:
    log = EventLog(max_events=3)
    for timestamp_ms in range(5):
        log.record(scaled("a", timestamp_ms, allocations=timestamp_ms))
    log.record(event("b", 99))
    assert [e.timestamp_ms for e in log.events("a")] == [4, 3, 2]
    assert [e.timestamp_ms for e in log.events("b")] == [99]
    assert log.events("unknown") == []


def test_forget() -> None:
    log = EventLog()
    log.record(event("a", 1))
    log.forget("a")
    log.forget("never-seen")
    assert log.events("a") == []


def test_a_run_of_identical_outcomes_is_one_event_with_its_count() -> None:
    log = EventLog(max_events=3)
    for timestamp_ms in range(10, 15):
        log.record(event("a", timestamp_ms))
    log.record(scaled("a", 20, allocations=2))
    log.record(event("a", 30))
    newest, change, steady = log.events("a")
    assert (steady.repeats, steady.first_timestamp_ms, steady.timestamp_ms) == (5, 10, 14)
    assert (change.action, change.repeats, change.first_timestamp_ms) == ("scaled", 1, None)
    assert (newest.action, newest.repeats) == ("no_change", 1)  # not folded across the change in between
