"""Task functions the suites enqueue.

Imported only after the backend under test is configured: ``@task`` takes
``task_class`` from it and validates each task against it. Every task here
uses the defaults (priority 0, queue "default") so that it is valid on any
backend; the suites derive variants with ``using()``. Coroutine tasks live in
:mod:`conformance.async_tasks`, imported only where ``supports_async_task``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .compat import task


class TaskFailure(Exception):
    """The exception :func:`fail` raises: a class whose path the kit knows."""


class NotAnException(BaseException):
    """A BaseException that is not an Exception: it must still fail the task."""


@task
def noop() -> None:
    return None


@task()
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return exactly what the function received."""
    return {"args": list(args), "kwargs": kwargs}


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def fail(message: str = "conformance failure") -> None:
    raise TaskFailure(message)


@task
def raise_base_exception(message: str = "base exception") -> None:
    raise NotAnException(message)


@task
def return_tuple() -> tuple[int, list[int]]:
    return (1, [2, 3])


@task
def return_unserializable() -> object:
    # A set cannot be represented in JSON.
    return {1, 2, 3}


@task(takes_context=True)
def with_context(context: Any) -> dict[str, Any]:
    result = context.task_result
    return {
        "id": result.id,
        "attempt": context.attempt,
        "attempts": result.attempts,
        "status": str(result.status),
        "is_context": type(context).__name__,
    }


@task
def record_execution(token: str) -> str:
    """Append ``token`` to the execution log: counts runs across processes."""
    log = Path(os.environ.get("CONFORMANCE_EXECUTION_LOG", "executions.log"))
    with log.open("a", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def not_a_task_write_marker(path: str) -> None:
    """A plain function, not a Task: a tampered record pointing here must not run."""
    Path(path).write_text("executed", encoding="utf-8")


#: Attributes :func:`try_mutating_context` assigns, each to its current value.
CONTEXT_RESULT_ATTRIBUTES = ("id", "status", "args", "kwargs", "errors", "worker_ids")


@task(takes_context=True)
def try_mutating_context(context: Any) -> dict[str, str]:
    """Assign to the TaskContext and its TaskResult; report what each assignment did.

    Each value is "AttributeError" (refused, as frozen objects do), "assigned",
    or the name of another exception. Values are reassigned as they are, so a
    backend that allows it is not disturbed further.
    """
    result = context.task_result  # held first: the last assignment targets it
    attempts = {
        **{
            f"context.task_result.{name}": (result, name, getattr(result, name))
            for name in CONTEXT_RESULT_ATTRIBUTES
        },
        "context.attempt": (context, "attempt", context.attempt),
        "context.task_result": (context, "task_result", result),
    }
    outcomes: dict[str, str] = {}
    for label, (target, name, value) in attempts.items():
        try:
            setattr(target, name, value)
        except AttributeError:
            outcomes[label] = "AttributeError"
        except Exception as exc:
            outcomes[label] = type(exc).__qualname__
        else:
            outcomes[label] = "assigned"
    return outcomes
