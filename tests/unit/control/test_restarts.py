"""The restart policy: growing pauses, then giving up; old crashes are forgotten."""

from inferd.control.restarts import RestartPolicy


def test_pauses_grow_then_the_route_gives_up() -> None:
    policy = RestartPolicy(backoff_s=(1.0, 2.0, 4.0), window_s=600)
    crashes: list[float] = []
    delays = []
    for now in (10.0, 20.0, 30.0, 40.0):
        crashes.append(now)
        delays.append(policy.delay_s(crashes, now))
    assert delays == [1.0, 2.0, 4.0, None]
    assert policy.max_restarts == 3


def test_crashes_outside_the_window_are_forgotten() -> None:
    policy = RestartPolicy(backoff_s=(1.0, 2.0), window_s=100)
    assert policy.delay_s([0.0, 50.0, 190.0], now=190.0) == 1.0  # only 190 is recent
    assert policy.delay_s([], now=5.0) is None
