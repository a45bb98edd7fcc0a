"""Tasks for the database backend's tests (in this process and in workers).

Imported only once Django is configured: ``@task`` validates against the
"default" alias, which is a ``DatabaseBackend`` both in the in-process
settings (conftest) and in worker processes (the kit's settings file).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from conformance import compat
from conformance.compat import task


class Boom(Exception):
    pass


def _log(line: str) -> None:
    path = os.environ.get("REFERENCE_TASKS_LOG")
    if path:
        # O_APPEND writes of one short line are atomic across processes.
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@task
def record(token: str) -> str:
    _log(token)
    return token


@task
def sleep_and_record(token: str, seconds: float) -> str:
    _log(f"start {token}")
    time.sleep(seconds)
    _log(f"end {token}")
    return token


@task
def fail(message: str = "boom") -> None:
    raise Boom(message)


@task
def return_set() -> object:
    return {1, 2}


@task
def interrupt() -> None:
    raise KeyboardInterrupt


@task
def exit_() -> None:
    raise SystemExit(3)


@task(takes_context=True)
def context_info(context: Any) -> dict[str, Any]:
    return {"attempt": context.attempt, "id": context.task_result.id}


@task
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
def steal_own_lease(result_id: str) -> str:
    """Pretend this attempt's lease expired and another worker took the row."""
    from reference_backends.database.models import TaskRecord

    TaskRecord.objects.filter(id=result_id).update(claimed_by="thief")
    return "late"


@task
def stop_worker_signal() -> str:
    import signal

    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)
    return "finished"


def not_a_task(path: str) -> None:
    """A plain function: a tampered row naming it must never run it."""
    Path(path).write_text("executed", encoding="utf-8")


# The same Task under another name: enqueue never stores such a path.
alias_of_add = add


@task(takes_context=True)
def slow_first_attempt(context: Any, token: str, seconds: float) -> str:
    """Sleeps on its first attempt only: a re-run after a kill finishes fast."""
    _log(f"start {token} {context.attempt}")
    if context.attempt == 1:
        time.sleep(seconds)
    _log(f"end {token} {context.attempt}")
    return token


@task
def leave_transaction_open() -> str:
    """Misbehave: open a transaction on the worker's connection and leave it."""
    from django.db import connection

    connection.cursor().execute("BEGIN")
    return "left open"


@task
def turn_autocommit_off() -> str:
    from django.db import transaction

    transaction.set_autocommit(False)
    return "autocommit off"


def plain_add(a: int, b: int) -> int:
    return a + b


def _plain_task(func: Any) -> Any:
    """``func`` as a plain Task, not the backend's DatabaseTask: what ``@task``
    builds when the default backend is another one (``.using(backend=...)``
    keeps that class)."""
    fields = dataclasses.fields(compat.Task)
    options = {f.name: getattr(add, f.name) for f in fields if f.init}
    return compat.Task(**{**options, "func": func})


plain_add = _plain_task(plain_add)
