"""Coroutine tasks, imported only where the backend has ``supports_async_task``."""

from __future__ import annotations

import asyncio
from typing import Any

from .compat import task
from .tasks import TaskFailure


@task
async def async_echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"args": list(args), "kwargs": kwargs}


@task
async def async_fail(message: str = "async conformance failure") -> None:
    await asyncio.sleep(0)
    raise TaskFailure(message)


@task(takes_context=True)
async def async_with_context(context: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {
        "id": context.task_result.id,
        "attempt": context.attempt,
        "attempts": context.task_result.attempts,
        "status": str(context.task_result.status),
    }
