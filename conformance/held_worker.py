"""A worker call held open by a task that blocks: to look at a RUNNING result.

The task ``tasks.wait_for_release(token, seconds)`` blocks until the kit
touches its release file; while it does, its result must read RUNNING,
wherever it is read from (this thread, another thread, another process).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import evidence
from .driver import Driver
from .support import not_applicable
from .violation import check, describe_exception


@dataclass
class HeldWorker:
    """A worker call in a background thread, held by a task that blocks."""

    driver: Driver
    token: str
    #: What the worker call returned (None) or raised, once it has.
    worker_errors: list[BaseException | None] = field(default_factory=list)
    #: The adapter's allowance for a call from the worker's thread (a
    #: command starts a process there), once that thread has begun.
    allowance: float = 0.0


@contextlib.contextmanager
def worker_held(driver: Driver, token: str, *, repro: str) -> Iterator[HeldWorker]:
    """Run the worker in a background thread (where worker-driven) until the
    task ``tasks.wait_for_release(token, ...)`` has started; yield while it
    blocks; then release it and wait for the worker call to return."""
    from django.db import connections

    held = HeldWorker(driver, token)
    timeout = driver.adapter.timeout

    def work() -> None:
        held.allowance = driver.adapter.pass_allowance
        try:
            held.worker_errors.append(driver.run())
        finally:
            connections.close_all()

    worker = threading.Thread(target=work, name="conformance-worker", daemon=True)
    if driver.worker_driven:
        worker.start()
    try:
        # A worker may first have to start (a command's process: the
        # adapter's allowance in the worker's thread), then the task.
        started = time.monotonic()
        while not evidence.runs(token) and (
            time.monotonic() < started + timeout + held.allowance
        ):
            if driver.worker_driven and not worker.is_alive():
                break  # the worker returned (or died) without starting it
            time.sleep(0.01)
        if not evidence.runs(token) and held.worker_errors and held.worker_errors[0]:
            # The worker callable, not the backend, failed: some workers
            # (signal handlers, for one) only run in the main thread.
            not_applicable(
                "the worker could not run in a background thread: "
                + describe_exception(held.worker_errors[0])
            )
        check(
            evidence.runs(token),
            expected="the task starts",
            observed=f"it did not start within {timeout} s",
            repro=repro,
        )
        yield held
    finally:
        evidence.release_path(token).touch()
        if worker.is_alive():
            worker.join(timeout + 5)
