"""Tasks with retry and time-limit options, for the database backend's tests.

Built with ``@task(...)`` where the decorator forwards options to the
backend's ``task_class`` (Django 6.1, the backport); on Django 6.0, whose
decorator does not, with that class directly, which is what 6.1 does.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from conformance.compat import task
from conformance.versions import TASK_DECORATOR_FORWARDS_KWARGS
from reference_backends.database.task_class import DatabaseTask
from tests.database.tasks import _log


class Flaky(Exception):
    """Listed in the tasks' autoretry_for."""


class FlakierStill(Flaky):
    """A subclass of a listed class: retried too."""


class NotListed(Exception):
    pass


def database_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    if TASK_DECORATOR_FORWARDS_KWARGS:
        return task(**options)  # type: ignore[no-any-return]

    def wrap(func: Callable[..., Any]) -> Any:
        return DatabaseTask(
            func=func,
            priority=0,
            backend="default",
            queue_name="default",
            run_after=None,
            **options,
        )

    return wrap


@database_task(takes_context=True, autoretry_for=(Flaky,), max_retries=5)
def succeeds_on_third(context: Any, token: str) -> int:
    attempt: int = context.attempt
    _log(f"{token} {attempt}")
    if attempt < 3:
        raise FlakierStill(f"attempt {attempt}")
    return attempt


@database_task(takes_context=True, autoretry_for=Flaky, max_retries=2)
def always_flaky(context: Any, token: str) -> None:
    _log(f"{token} {context.attempt}")
    raise Flaky(f"attempt {context.attempt}")


@database_task(autoretry_for=(Flaky,), max_retries=5)
def raises_not_listed() -> None:
    raise NotListed("not retried")


@database_task(autoretry_for=(Flaky,), retry_backoff=60, retry_jitter=False)
def backs_off() -> None:
    raise Flaky("later")


@database_task(autoretry_for=())
def never_retried() -> None:
    """On a backend whose OPTIONS retry everything: this task says no."""
    raise NotListed("no retries for me")


@database_task(time_limit=0.3)
async def async_sleeps(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "woke"


@database_task(time_limit=5)
async def raises_its_own_timeout() -> None:
    raise TimeoutError("the task's own")


@database_task(time_limit=0.2)
def sync_sleeps(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


@database_task(time_limit=1)
def sleeps_with_a_second(token: str, seconds: float) -> str:
    _log(f"start {token}")
    time.sleep(seconds)
    _log(f"end {token}")
    return token


@database_task(takes_context=True, autoretry_for=(Flaky,), max_retries=2)
def flaky_in_a_child(context: Any, token: str) -> int:
    _log(f"{token} {context.attempt} pid {os.getpid()}")
    if context.attempt < 2:
        raise Flaky("first attempt")
    return os.getpid()


@database_task()
def exits_its_process() -> None:
    os._exit(7)


def tasks_module_add() -> Any:
    """A task of tests.database.tasks, which sets no option."""
    from tests.database.tasks import add

    return add


@database_task(time_limit=0.2)
async def ignores_cancellation() -> str:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(0.3)  # carries on past the limit regardless
    return "done anyway"


@database_task()
def kills_its_process_soon() -> str:
    """Returns, then its process dies before the next task arrives."""
    import signal
    import threading

    threading.Timer(0.1, os.kill, args=(os.getpid(), signal.SIGKILL)).start()
    return "returned"


@database_task()
def sleeps_and_says_where(token: str, seconds: float) -> int:
    _log(f"{token} pid {os.getpid()}")
    time.sleep(seconds)
    return os.getpid()


@database_task()
def says_where_in_company(token: str, company: int, seconds: float) -> int:
    """Logs where it runs, then waits (``seconds`` at most) until ``company``
    tasks have logged theirs: tasks that can only end together if they run
    at the same time, however slowly their processes start."""
    _log(f"{token} pid {os.getpid()}")
    log = os.environ.get("REFERENCE_TASKS_LOG", "")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8") as handle:
            if sum(" pid " in line for line in handle) >= company:
                break
        time.sleep(0.05)
    return os.getpid()
