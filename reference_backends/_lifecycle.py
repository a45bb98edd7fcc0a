"""What the three reference backends share: new results, ids, JSON, time, errors.

A backend owns the :class:`TaskResult` objects it creates. They are frozen
dataclasses so that *users* cannot change them by accident; the backend moves
them through their lifecycle with :func:`update`. The database backend stores
what the others only round-trip (JSON text, error entries), with the same
helpers, so all three agree on what a value or an error becomes.

Comments in capitals (``# ENQUEUE-ID-FORMAT``) name the clause of ``specs/``
that a line implements.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime
from traceback import format_exception
from typing import Any

from django.utils import timezone

from . import compat


def new_id() -> str:
    """A fresh result or worker id: 32 hex characters.

    Ids must be non-empty strings shorter than 64 characters, unique across
    many enqueues and threads, and compared exactly when looked up.
    """
    # ENQUEUE-ID-FORMAT, ENQUEUE-ID-UNDER-64, ENQUEUE-ID-UNIQUE: 122 random bits.
    return uuid.uuid4().hex


def now() -> datetime:
    """The current time, aware when ``USE_TZ`` is on (as Django's are)."""
    return timezone.now()  # ENQUEUE-ENQUEUED-AT, SUCCESS-TIMESTAMPS: aware


def to_json_text(value: Any) -> str:
    """Encode ``value`` as strict JSON, or raise ``TypeError``/``ValueError``.

    Arguments and return values travel through JSON in a real queue, so the
    reference backends put them through JSON too, even when nothing leaves
    the process: a task that works here then works on any backend.
    ``allow_nan=False`` because NaN and Infinity are not JSON (RFC 8259) and
    many stores (PostgreSQL ``jsonb``) reject them. Compact separators: the
    database backend stores this text.
    """
    # JSON-UNSERIALIZABLE-REJECTED
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def from_json_text(text: str) -> Any:
    """Decode what :func:`to_json_text` produced: fresh lists and dicts."""
    return json.loads(text)


def json_round_trip(value: Any) -> Any:
    """``value`` as a worker would see it after storage: tuples become lists."""
    # JSON-VALUES-PRESERVED, JSON-TUPLES-BECOME-LISTS
    return from_json_text(to_json_text(value))


def new_result(backend: Any, task: Any, args: Any, kwargs: Any) -> Any:
    """A READY :class:`TaskResult` enqueued now, never run yet.

    The arguments go through JSON first: one that a real queue could not
    store raises ``TypeError``/``ValueError`` here, before the caller stores
    or signals anything; tuples become lists, as in any queue.
    """
    # JSON-UNSERIALIZABLE-NOT-STORED: raises before anything exists.
    # JSON-ARGS-SNAPSHOT: fresh copies; the caller's objects are not kept.
    args = json_round_trip(list(args))
    kwargs = json_round_trip(dict(kwargs))
    return ready_result(backend, task, args, kwargs, new_id())


def ready_result(
    backend: Any, task: Any, args: Any, kwargs: Any, result_id: str
) -> Any:
    """The READY :class:`TaskResult` ``result_id``, enqueued now, arguments as given."""
    # ENQUEUE-RETURNS-RESULT: a TaskResult, from enqueue and aenqueue alike.
    # ENQUEUE-READY-UNLESS-SYNCHRONOUS: READY for a queue (dummy, database);
    # the immediate backend runs it before returning.
    # ENQUEUE-READY-NOT-STARTED: READY, no timestamps but enqueued_at, no
    # errors, no worker ids. ENQUEUE-RESULT-TASK: the Task as given (a
    # using() variant keeps its priority, queue and run_after).
    return compat.TaskResult(
        task=task,
        id=result_id,
        status=compat.TaskResultStatus.READY,
        enqueued_at=now(),
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=args,  # ENQUEUE-ARGS-KWARGS
        kwargs=kwargs,
        backend=backend.alias,  # ENQUEUE-RESULT-BACKEND, ENQUEUE-OTHER-ALIAS
        errors=[],
        worker_ids=[],
    )


def update(result: Any, **changes: Any) -> None:
    """Change fields of a frozen ``TaskResult`` that this backend owns."""
    for name, value in changes.items():
        object.__setattr__(result, name, value)


def error_entry(exc: BaseException) -> dict[str, str]:
    """The fields of the :class:`TaskError` recording ``exc``, as stored."""
    cls = type(exc)
    return {
        # FAILURE-EXCEPTION-CLASS: __qualname__, so nested classes resolve.
        "exception_class_path": f"{cls.__module__}.{cls.__qualname__}",
        # FAILURE-TRACEBACK: the formatted traceback ends with "Class: message".
        "traceback": "".join(format_exception(exc)),
    }


def task_error(exc: BaseException) -> Any:
    """The :class:`TaskError` recording ``exc``: its class path and traceback."""
    return compat.TaskError(**error_entry(exc))


def snapshot(result: Any) -> Any:
    """An independent copy of ``result``: changing it never changes the original.

    The :class:`Task` is immutable and shared; every mutable field is copied
    (IMMUTABILITY-RESULT-ARGS-ISOLATED).
    """
    copied = dataclasses.replace(
        result,
        args=json_round_trip(result.args),
        kwargs=json_round_trip(result.kwargs),
        errors=list(result.errors),
        worker_ids=list(result.worker_ids),
    )
    # ``_return_value`` is Django's private field with no public setter;
    # ``replace()`` cannot pass it, so it is copied explicitly.
    update(copied, _return_value=json_round_trip(result._return_value))
    return copied
