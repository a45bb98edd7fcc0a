"""The kit's limit on one worker pass (Driver.pass_limit), before and after a stall."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance import driver as driver_module
from conformance.adapters import Adapter
from conformance.driver import STALLED_LIMIT, Driver


@pytest.fixture(autouse=True)
def _no_stalls_kept() -> Iterator[None]:
    saved = set(driver_module._STALLED)
    yield
    driver_module._STALLED.clear()
    driver_module._STALLED.update(saved)


def _stalled(adapter: Adapter) -> Driver:
    driver = Driver(adapter, backend=None)
    driver_module._STALLED.add(id(adapter))
    return driver


def worker(backend: Any, queue_names: Any) -> None:
    return None


def test_a_worker_that_stalled_gets_little_time_afterwards() -> None:
    """Fail fast: a blocking worker is reported once at the timeout."""
    adapter = Adapter(worker=worker, timeout=10.0)
    assert Driver(adapter, backend=None).pass_limit == 10.0
    assert _stalled(adapter).pass_limit == STALLED_LIMIT


def test_the_allowance_is_added_to_the_limit_even_after_a_stall() -> None:
    worker.pass_allowance = 4.0  # type: ignore[attr-defined]
    try:
        adapter = Adapter(worker=worker, timeout=10.0)
        assert Driver(adapter, backend=None).pass_limit == 14.0
        assert _stalled(adapter).pass_limit == STALLED_LIMIT + 4.0
    finally:
        del worker.pass_allowance  # type: ignore[attr-defined]


def test_an_adapter_that_bounds_its_passes_keeps_its_limit_after_a_stall() -> None:
    from conformance.adapters.celery import START_ALLOWANCE, CeleryAdapter

    adapter = CeleryAdapter(timeout=10.0)
    try:
        limit = Driver(adapter, backend=None).pass_limit
        # A worker to start, the tasks to wait for, the queues to drain.
        assert limit > START_ALLOWANCE + 2 * adapter.timeout
        assert _stalled(adapter).pass_limit == limit
    finally:
        adapter.enqueued.stop()


def test_a_continuous_command_ends_its_calls_before_the_kits_limit(
    reference_tasks: Any,
) -> None:
    """It waits ``timeout`` and stops its processes (one grace): the kit's
    limit must be longer, or the alarm always wins and the quiet stop is dead."""
    from conformance.adapters.command import CommandWorker
    from conformance.worker_process import STOP_GRACE

    command = CommandWorker("w", mode="continuous", timeout=10.0)
    adapter = Adapter(worker=command, timeout=10.0)
    limit = Driver(adapter, backend=None).pass_limit
    assert limit > command.timeout + STOP_GRACE
    assert _stalled(adapter).pass_limit == limit
    command.pending.disconnect()
    batch = Adapter(worker=CommandWorker("w", timeout=10.0), timeout=10.0)
    assert _stalled(batch).pass_limit == STALLED_LIMIT
