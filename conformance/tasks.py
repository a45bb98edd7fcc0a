"""Task functions the suites enqueue.

Imported only after the backend under test is configured: ``@task`` takes
``task_class`` from it and validates each task against it. Every task here
uses the defaults (priority 0, queue "default") so that it is valid on any
backend; the suites derive variants with ``using()``.

This is the one module a worker must import to run the kit's tasks (workers
that only run tasks registered at start-up: import it there). Coroutine tasks
live in :mod:`conformance.async_tasks`, because defining one on a backend
without ``supports_async_task`` raises; importing this module imports that
one too wherever the backend under test supports them.
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


# -- Execution suites (conformance.evidence records what ran) ----------------
from . import evidence  # noqa: E402

# A worker process imports this module before it runs a kit task: the
# signals it sends are recorded too.
evidence.install_signal_recorder()


@task
def capture(token: str, /, *args: Any, **kwargs: Any) -> None:
    """Record this execution and exactly what the function received.

    ``token`` is positional-only, so any keyword (even "token") reaches
    ``**kwargs``.
    """
    evidence.record_run(token, {"args": args, "kwargs": kwargs})


@task(takes_context=True)
def capture_context(context: Any, token: str, *args: Any, **kwargs: Any) -> None:
    """Record what the context says about the running result."""
    from .compat import TaskContext, TaskResult

    result = context.task_result

    def when(value: Any) -> Any:
        return value.isoformat() if value is not None else None

    evidence.record_run(
        token,
        {
            "is_context": isinstance(context, TaskContext),
            "is_result": isinstance(result, TaskResult),
            "id": result.id,
            "status": str(result.status),
            "is_finished": result.is_finished,
            "attempt": context.attempt,
            "attempts": result.attempts,
            "worker_ids": list(result.worker_ids),
            "started_at": when(result.started_at),
            "last_attempted_at": when(result.last_attempted_at),
            "finished_at": when(result.finished_at),
            "module_path": result.task.module_path,
            "backend": result.backend,
            "result_args": list(result.args),
            "result_kwargs": dict(result.kwargs),
            "args": args,
            "kwargs": kwargs,
        },
    )


@task
def return_decoded(tagged: str) -> Any:
    """Return the value ``evidence.encode`` described (tuples and all)."""
    import json

    return evidence.decode(json.loads(tagged))


class Outer:
    class NestedFailure(Exception):
        """An exception whose ``__qualname__`` differs from its ``__name__``."""


#: Exceptions :func:`raise_exception` raises, by name.
EXCEPTIONS: dict[str, type[BaseException]] = {
    "TaskFailure": TaskFailure,
    "nested": Outer.NestedFailure,
    "ValueError": ValueError,
    "NotAnException": NotAnException,
    "SystemExit": SystemExit,
}


@task
def raise_exception(kind: str, message: str) -> None:
    raise EXCEPTIONS[kind](message)


def _raise_at_the_bottom(kind: str, message: str) -> None:
    raise EXCEPTIONS[kind](message)


def _descend(depth: int, kind: str, message: str) -> None:
    if depth:
        _descend(depth - 1, kind, message)
    else:
        _raise_at_the_bottom(kind, message)


@task
def raise_deep(kind: str, message: str, depth: int = 12) -> None:
    """Raise ``depth`` calls down: the traceback's last frame is
    ``_raise_at_the_bottom``, far from the worker's."""
    _descend(depth, kind, message)


@task
def return_opaque() -> object:
    """An object with no JSON form at all."""
    return object()


@task
def return_nested_unserializable() -> object:
    """A JSON-looking value with an arbitrary object deep inside.

    Not a datetime: some encoders (DjangoJSONEncoder) turn those into text.
    """
    return {"ok": [1, 2, {"deep": object()}]}


@task
def wait_for_release(token: str, timeout: float) -> str:
    """Record the start, then block until the kit releases it (or timeout)."""
    import time

    evidence.record_run(token, "started")
    release = evidence.release_path(token)
    deadline = time.monotonic() + timeout
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return token


class FakeTask:
    """Has a Task's attributes (func, call, module_path...) but is no Task.

    A worker that duck-types stored paths would run it.
    """

    priority = 0
    queue_name = "default"
    backend = "default"
    run_after = None
    takes_context = False

    def __init__(self, func: Any) -> None:
        self.func = func
        self.name = func.__name__
        self.module_path = f"{func.__module__}.{func.__qualname__}"

    def call(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def using(self, **kwargs: Any) -> FakeTask:
        return self


fake_task = FakeTask(not_a_task_write_marker)


class FakeCallableTask(FakeTask):
    """A look-alike that can also be called itself: ``func(...)``,
    ``.call(...)`` and the object itself all write the marker."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


fake_callable_task = FakeCallableTask(not_a_task_write_marker)


class CallableMarker:
    """A callable object and nothing else (no Task attributes): a worker that
    calls whatever a path names, when it is not a plain function, runs it."""

    def __call__(self, path: str) -> None:
        not_a_task_write_marker(path)


callable_marker = CallableMarker()


def _backend_runs_coroutines() -> bool:
    from .compat import task_backends

    try:
        return bool(task_backends["default"].supports_async_task)
    except Exception:  # no usable default backend: nothing to define them on
        return False


if _backend_runs_coroutines():
    from . import async_tasks  # noqa: F401  (one module for a worker)
