"""The event log keeps the newest events per deployment, within a bound."""

from inferd.control.scaling.events import EventLog, ScalingEvent


def event(deployment_id: str, timestamp_ms: int) -> ScalingEvent:
    return ScalingEvent(timestamp_ms, deployment_id, "no_change", 1, None)


def test_newest_first_within_the_bound() -> None:
    log = EventLog(max_events=3)
    for timestamp_ms in range(5):
        log.record(event("a", timestamp_ms))
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
