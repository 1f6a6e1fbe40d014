"""Elasticsearch's `KalmanFilter1dTests`, ported case for case with the same inputs and bounds."""

import pytest

from inferd.control.scaling.kalman import KalmanFilter1d


def test_estimation_equal_values() -> None:
    estimator = KalmanFilter1d(100, autodetect_dynamics_change=False)
    assert not estimator.has_value

    estimator.add(42.0, 9.0)
    assert estimator.has_value
    assert estimator.estimate == 42.0
    assert estimator.error == 3.0
    assert estimator.lower == 39.0
    assert estimator.upper == 45.0

    # With more data the estimation error should go down.
    previous_error = estimator.error
    for _ in range(20):
        estimator.add(42.0, 9.0)
        assert estimator.estimate == 42.0
        assert estimator.error < previous_error
        previous_error = estimator.error


def test_estimation_increasing_values() -> None:
    estimator = KalmanFilter1d(100, autodetect_dynamics_change=False)
    estimator.add(10.0, 1.0)
    assert estimator.estimate == 10.0

    # As the measured values increase, the estimate increases too, but lags behind.
    previous_estimate = estimator.estimate
    for value in range(11, 20):
        estimator.add(float(value), 1.0)
        assert previous_estimate < estimator.estimate < value
        previous_estimate = estimator.estimate

    # More final values bring the estimate close to it.
    for _ in range(20):
        estimator.add(20.0, 1.0)
    assert 19.0 < estimator.estimate < 20.0


def test_estimation_big_jump_no_autodetect_dynamics_changes() -> None:
    estimator = KalmanFilter1d(100, autodetect_dynamics_change=False)
    estimator.add(0.0, 100.0)
    estimator.add(0.0, 1.0)
    assert estimator.estimate == 0.0

    # Without autodetection the estimate lands between the old and the new value.
    estimator.add(100.0, 1.0)
    assert 49.0 < estimator.estimate < 51.0


def test_estimation_big_jump_with_autodetect_dynamics_changes() -> None:
    estimator = KalmanFilter1d(100, autodetect_dynamics_change=True)
    estimator.add(0.0, 100.0)
    estimator.add(0.0, 1.0)
    assert estimator.estimate == 0.0

    # With autodetection the estimate jumps at once to almost the new value.
    estimator.add(100.0, 1.0)
    assert 99.0 < estimator.estimate < 100.0


def test_estimation_big_jump_with_external_detect_dynamics_change() -> None:
    estimator = KalmanFilter1d(100, autodetect_dynamics_change=False)
    estimator.add(0.0, 100.0)
    estimator.add(0.0, 1.0)
    assert estimator.estimate == 0.0

    # An external dynamics change makes the estimate jump at once to almost the new value.
    estimator.add(100.0, 1.0, dynamics_changed=True)
    assert 99.0 < estimator.estimate < 100.0


def test_estimation_different_smoothing() -> None:
    quick = KalmanFilter1d(1e-3, autodetect_dynamics_change=False)
    for _ in range(100):
        quick.add(42.0, 1.0)
    assert quick.estimate == 42.0
    # With low smoothing, the estimate is close to the new value.
    quick.add(77.0, 1.0)
    assert 75.0 < quick.estimate < 77.0

    slow = KalmanFilter1d(1e3, autodetect_dynamics_change=False)
    for _ in range(100):
        slow.add(42.0, 1.0)
    assert slow.estimate == 42.0
    # With high smoothing, the estimate stays close to the old value.
    slow.add(77.0, 1.0)
    assert 42.0 < slow.estimate < 44.0


def test_the_step_after_a_change_follows_the_measurement() -> None:
    """Beyond Elasticsearch's cases: the update formula by hand.

    The first measurement counts as a change, so the second uses q = x^2 = 0: K = 100/101, P = 100/101.
    The third uses q = 1/100: K = (100/101 + 0.01) / (100/101 + 0.01 + 1) = 0.500025, so x = 50.0025.
    """
    estimator = KalmanFilter1d(100, autodetect_dynamics_change=False)
    estimator.add(0.0, 100.0)
    estimator.add(0.0, 1.0)
    assert estimator.error ** 2 == pytest.approx(100 / 101)
    estimator.add(100.0, 1.0)
    assert estimator.estimate == pytest.approx(50.0025, abs=1e-4)
