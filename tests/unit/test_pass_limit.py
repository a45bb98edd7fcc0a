"""The kit's limit on one worker pass (Driver.pass_limit), before and after a stall."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conformance import driver as driver_module
from conformance.adapters import Adapter
from conformance.backlog import HORIZON, SECONDS_PER_TASK, Backlog
from conformance.driver import STALLED_LIMIT, Driver


@pytest.fixture(autouse=True)
def _no_stalls_kept() -> Iterator[None]:
    saved = set(driver_module._STALLED)
    yield
    driver_module._STALLED.clear()
    driver_module._STALLED.update(saved)


@pytest.fixture(autouse=True)
def backlog(monkeypatch: pytest.MonkeyPatch) -> Backlog:
    """A backlog of this test's own (the process's counts what others enqueued)."""
    fresh = Backlog()
    fresh._signals = [object()]  # counts only what the test says it heard
    monkeypatch.setattr(driver_module, "BACKLOG", fresh)
    return fresh


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


def test_a_batch_command_called_from_another_thread_may_start_its_process(
    reference_tasks: Any,
) -> None:
    """Only there does the call start a process (Python, then Django): its
    pass, and a held worker's wait for its task, get the time to."""
    import threading

    from conformance.adapters.command import CommandWorker
    from conformance.worker_process import PROCESS_START

    adapter = Adapter(worker=CommandWorker("w", timeout=10.0), timeout=10.0)
    in_main = Driver(adapter, backend=None).pass_limit
    elsewhere: list[float] = []
    thread = threading.Thread(
        target=lambda: elsewhere.append(Driver(adapter, backend=None).pass_limit)
    )
    thread.start()
    thread.join()
    assert elsewhere == [in_main + PROCESS_START]


def _heard(backlog: Backlog, tasks: int) -> None:
    """As if ``tasks`` enqueues had been announced (no run_after)."""
    for _ in range(tasks):
        backlog._heard(sender=None)


def test_each_waiting_task_adds_to_the_limit_before_and_after_a_stall(
    backlog: Backlog,
) -> None:
    """A pass that finds the tasks enqueue-only clauses left is busy, not stalled."""
    adapter = Adapter(worker=worker, timeout=10.0)
    _heard(backlog, 200)
    assert Driver(adapter, backend=None).pass_limit == 10.0 + 200 * SECONDS_PER_TASK
    assert _stalled(adapter).pass_limit == STALLED_LIMIT + 200 * SECONDS_PER_TASK


def test_a_pass_over_every_queue_drains_what_was_waiting_when_it_began(
    backlog: Backlog,
) -> None:
    def enqueues_while_running(backend: Any, queue_names: Any) -> None:
        _heard(backlog, 3)

    adapter = Adapter(worker=enqueues_while_running, timeout=10.0)
    _heard(backlog, 50)
    Driver(adapter, backend=None).run(["default"])
    assert backlog.count == 53  # one queue's pass leaves the others waiting
    assert Driver(adapter, backend=None).run() is None
    assert backlog.count == 3  # enqueued during the pass: they may still wait


def test_a_stalled_pass_drains_nothing(backlog: Backlog) -> None:
    def fails(backend: Any, queue_names: Any) -> None:
        raise RuntimeError("worker died")

    _heard(backlog, 5)
    assert isinstance(Driver(Adapter(worker=fails), backend=None).run(), RuntimeError)
    assert backlog.count == 5


def test_the_backlog_hears_every_enqueue_of_the_process(reference_tasks: Any) -> None:
    counting = Backlog()
    counting.listen()
    try:
        reference_tasks.add.using(backend="dummy").enqueue(1, 2)
        reference_tasks.add.using(backend="dummy", queue_name="other").enqueue(3, 4)
        soon = datetime.now(UTC) + timedelta(seconds=0.5)
        reference_tasks.add.using(backend="dummy", run_after=soon).enqueue(3, 4)
        later = datetime.now(UTC) + HORIZON + timedelta(seconds=5)
        reference_tasks.add.using(backend="dummy", run_after=later).enqueue(3, 4)
    finally:
        counting.stop()
    reference_tasks.add.using(backend="dummy").enqueue(5, 6)  # not listening
    assert counting.count == 3  # not the task parked beyond the horizon
