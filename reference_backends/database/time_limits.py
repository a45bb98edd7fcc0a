"""Time limits: what Python can stop, and what it cannot.

A thread cannot be killed. So the default (thread) pool enforces a limit
only where the task cooperates:

* an ``async`` task is cancelled at its limit (``asyncio`` cancellation: the
  coroutine gets ``CancelledError`` at its next ``await``; one that blocks
  the event loop with synchronous code is only stopped when it yields);
* a plain function runs to its end; the worker logs a warning when the limit
  passes, and the attempt is FAILED when it returns late.

Either way, an attempt that has not returned within its limit ends with
:class:`TimeLimitExceeded`, its return value (if any) discarded. The process
pool (``task_worker --pool process``, :mod:`.process_pool`) kills the child
process at the limit, so there every task is stopped on time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from inspect import iscoroutinefunction
from typing import Any

from asgiref.sync import async_to_sync

logger = logging.getLogger("reference_backends.database.worker")


class TimeLimitExceeded(Exception):
    """The task did not finish within its time limit (``time_limit``)."""


def exceeded(limit: float, ran: float, how: str) -> TimeLimitExceeded:
    """The error recorded for an attempt over its limit; ``how`` says what was done."""
    return TimeLimitExceeded(
        f"the task ran {ran:.3f} s, over its time limit of {limit:g} s; {how}"
    )


def call(
    task: Any, args: list[Any], kwargs: dict[str, Any], limit: float | None
) -> Any:
    """``task.call(*args, **kwargs)`` in this thread, within ``limit`` seconds if it can.

    Raises :class:`TimeLimitExceeded` when the attempt took longer than
    ``limit``: an ``async`` task is cancelled at the limit, a plain one
    is not stopped (see the module's docstring).
    """
    if limit is None:
        return task.call(*args, **kwargs)
    started = time.monotonic()
    if iscoroutinefunction(task.func):
        return async_to_sync(_within)(task.func, args, kwargs, limit, started)
    with _warn_when_over(task, limit):
        value = task.call(*args, **kwargs)
    ran = time.monotonic() - started
    if ran > limit:
        raise exceeded(
            limit,
            ran,
            "the thread pool cannot stop a plain function: it ran to its end and "
            "its return value was discarded (task_worker --pool process stops it "
            "on time)",
        )
    return value


async def _within(
    func: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    limit: float,
    started: float,
) -> Any:
    # Django's Task.call runs a coroutine with async_to_sync as well: same
    # event loop arrangement, plus the deadline.
    deadline = asyncio.timeout(limit)
    try:
        async with deadline:
            value = await func(*args, **kwargs)
    except TimeoutError:
        # The deadline turns the cancellation it caused into TimeoutError
        # on leaving the block; any other TimeoutError is the task's own.
        if not deadline.expired():
            raise
        ran = time.monotonic() - started
        raise exceeded(limit, ran, "it was cancelled") from None
    ran = time.monotonic() - started
    if ran > limit:
        # It swallowed the cancellation or blocked the loop past the limit.
        raise exceeded(limit, ran, "it did not stop when cancelled")
    return value


@contextmanager
def _warn_when_over(task: Any, limit: float) -> Iterator[None]:
    """Log once, while it still runs, that a plain function is over its limit."""
    timer = threading.Timer(
        limit,
        logger.warning,
        args=(
            "task %s is over its time limit of %g s; the thread pool cannot stop "
            "it, it will be FAILED when it returns",
            task.module_path,
            limit,
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
