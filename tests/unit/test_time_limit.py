"""A worker pass that outlives --task-timeout is interrupted (issue 14)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time

import pytest

from conformance.driver import WorkerStalled, time_limit


def test_a_body_that_blocks_is_interrupted() -> None:
    began = time.monotonic()
    with pytest.raises(WorkerStalled, match=r"within 0\.2 s"), time_limit(0.2):
        time.sleep(30)
    assert time.monotonic() - began < 5


def test_swallowing_the_interrupt_once_does_not_keep_the_body_running() -> None:
    def worker() -> None:
        # A worker that catches everything a task raises, then goes on.
        with contextlib.suppress(BaseException):
            time.sleep(30)
        time.sleep(30)

    with pytest.raises(WorkerStalled), time_limit(0.1):
        worker()


def test_a_body_that_returns_in_time_is_left_alone() -> None:
    with time_limit(5):
        pass
    time.sleep(0.1)  # nothing pending fires afterwards
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_timer_set_before_is_put_back() -> None:
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        with time_limit(5):
            pass
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_the_body_runs_unlimited() -> None:
    outcome: list[str] = []

    def run() -> None:
        with time_limit(0.05):
            time.sleep(0.2)
        outcome.append("returned")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    assert outcome == ["returned"]
