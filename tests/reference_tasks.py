# mypy: disable-error-code="untyped-decorator"
# (``task`` comes through conformance.compat, typed Any across Django versions.)
"""Tasks for the reference backends' unit tests.

Imported only once Django is configured (the ``reference_tasks`` fixture in
``tests/conftest.py``): ``@task`` validates against the configured backend.
"""

from __future__ import annotations

import asyncio
from typing import Any

from conformance.compat import task


class Boom(Exception):
    """What :func:`fail` raises."""


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@task
def mutate_arguments(items: list[Any], mapping: dict[str, Any]) -> None:
    items.append("added by the task")
    mapping["added"] = True


@task
def fail() -> None:
    raise Boom("boom")


@task
def exit_process() -> None:
    raise SystemExit(3)


@task
def interrupt() -> None:
    raise KeyboardInterrupt


@task
def return_set() -> object:
    return {1, 2}


@task
def return_tuple() -> tuple[int, ...]:
    return (1, 2)


@task(takes_context=True)
def context_view(context: Any, label: str) -> dict[str, Any]:
    result = context.task_result
    return {
        "label": label,
        "id": result.id,
        "attempt": context.attempt,
        "status": str(result.status),
        "worker_ids": list(result.worker_ids),
    }


@task
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task(takes_context=True)
async def async_context_view(context: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"attempt": context.attempt, "status": str(context.task_result.status)}


@task
async def async_fail() -> None:
    await asyncio.sleep(0)
    raise Boom("async boom")


@task
async def async_interrupt() -> None:
    raise KeyboardInterrupt


@task
async def async_cancelled() -> None:
    raise asyncio.CancelledError


#: Ids of the results whose :func:`async_wait_forever` call has begun.
WAITING: list[str] = []


@task(takes_context=True)
async def async_wait_forever(context: Any) -> None:
    WAITING.append(context.task_result.id)
    await asyncio.Event().wait()
