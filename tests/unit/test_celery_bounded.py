"""``celery_process.bounded``: a broker round-trip that hangs ends the call, in any thread."""

from __future__ import annotations

import threading
import time

import pytest

from conformance.adapters.celery_process import bounded


def test_a_round_trip_that_returns_gives_its_value() -> None:
    assert bounded(lambda: {"worker@host": "pong"}, 1.0, "ping") == {
        "worker@host": "pong"
    }


def test_a_round_trip_that_raises_raises_in_the_caller() -> None:
    def refused() -> None:
        raise ConnectionRefusedError("no broker")

    with pytest.raises(ConnectionRefusedError, match="no broker"):
        bounded(refused, 1.0, "ping")


def test_a_round_trip_that_hangs_is_a_timeout_outside_the_main_thread() -> None:
    """The kit's alarm does not reach other threads: the bound must."""
    release = threading.Event()
    raised: list[BaseException] = []

    def caller() -> None:
        try:
            bounded(release.wait, 0.2, "ping")
        except BaseException as exc:
            raised.append(exc)

    began = time.monotonic()
    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(5)
    release.set()
    assert not thread.is_alive()
    assert time.monotonic() - began < 5
    assert len(raised) == 1
    assert isinstance(raised[0], TimeoutError)
    assert "ping did not return within 0.2 s" in str(raised[0])
